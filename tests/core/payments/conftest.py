from tests.fakes.stripe_fixtures import fake_stripe, fast_stripe_retries  # noqa: F401 (fixtures for this folder)
from tests.fakes.stripe_payments import (  # noqa: F401
    booking,
    finance_admin,
    post_webhook,
    staff_user,
    stripe_on,
    test_mode,
)
