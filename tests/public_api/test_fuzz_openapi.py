"""Schemathesis against our own OpenAPI schema: nothing a client sends yields a 500 or breaks the contract.

Bounded for the suite (a handful of examples per operation, positive and negative data); raise
FUZZ_EXAMPLES locally for a longer run.
"""

import json
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
    return loaded


# Our routers (health: liveness and readiness); payments has its own suite.
schema = _load_schema().include(path_regex=r"^/api/v1/(services|bookings|health)/")


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


# Every operation that reads a JSON body, found in the schema itself: a new route is covered without a test
# edit. Multipart uploads (documents) have their own, larger limit and code (413 file_too_large), checked
# before the body is read, in tests/public_api/test_documents_api.py.
BODY_OPERATIONS = [result.ok() for result in _load_schema().get_all_operations()
                   if "application/json" in result.ok().definition.raw.get("requestBody", {}).get("content", {})]


@pytest.mark.parametrize("operation", BODY_OPERATIONS, ids=lambda op: op.label)
@pytest.mark.django_db
def test_an_oversized_body_is_413_in_the_envelope_everywhere(operation, open_api, settings):
    # given a JSON body over DATA_UPLOAD_MAX_MEMORY_SIZE (default 2.5 MB): about 3 MB
    body = {"notes": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 500_000)}
    path_parameters = {p.name: "00000000-0000-0000-0000-000000000000" for p in operation.path_parameters}
    case = operation.Case(body=body, media_type="application/json", path_parameters=path_parameters)

    response = case.call()

    assert response.status_code == 413, response.text
    assert response.json() == {"error": {"code": "payload_too_large", "message": "The request body is too large.",
                                         "fields": {}}}
    case.validate_response(response, checks=[status_code_conformance, content_type_conformance,
                                             response_schema_conformance])


def test_every_body_route_is_covered():
    assert {op.label for op in BODY_OPERATIONS} >= {
        "POST /api/v1/bookings/", "PATCH /api/v1/bookings/{booking_id}/", "POST /api/v1/services/calculate-price/",
        "POST /api/v1/payments/create-intent/"}


def test_the_openapi_document_has_no_duplicate_keys(client):
    # Swagger UI parses the document as YAML and refuses duplicate keys ("duplicated mapping key"): a Python
    # dict with both 413 and "413" serialises to exactly that.
    def no_duplicates(pairs):
        keys = [k for k, _v in pairs]
        assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
        return dict(pairs)

    json.loads(client.get("/api/v1/openapi.json").content, object_pairs_hook=no_duplicates)
