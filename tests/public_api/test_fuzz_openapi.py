"""Schemathesis against our own OpenAPI schema: nothing a client sends yields a 500 or breaks the contract.

Bounded for the suite (a handful of examples per operation, positive and negative data); raise
FUZZ_EXAMPLES locally for a longer run.
"""

import os

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]


def _load_schema():
    # pytest-django has configured Django before collection; building the schema touches no database.
    from totetaxi.wsgi import application

    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    loaded.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                                    max_examples=EXAMPLES, allow_x00=True)
    # Our routers (health: liveness and readiness); payments has its own suite.
    return loaded.include(path_regex=r"^/api/v1/(services|bookings|health)/")


schema = _load_schema()


@pytest.fixture
def open_api(settings, catalog):
    settings.TOTETAXI = {**settings.TOTETAXI, "RATE_LIMIT_POSTS_PER_MINUTE": 0}
    # Schemathesis calls the WSGI app directly, so Django's request signals would close the test's connection
    # (and its transaction) after every call; Django's own test Client disconnects them the same way.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
def test_no_input_breaks_the_api(case, open_api):
    case.call_and_validate(checks=CHECKS)
