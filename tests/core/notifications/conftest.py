from tests.core.notifications.fixtures import *  # noqa: F403  (fixtures)
