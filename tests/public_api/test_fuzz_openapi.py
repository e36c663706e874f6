"""Schemathesis against our own OpenAPI schema: nothing a client sends yields a 500 or breaks the contract.

Every operation the schema lists (a new route is fuzzed without a test edit), with every check schemathesis has.
The token-protected routes are exercised past their 404: a real booking with its access token and a stored
document stand in for whatever the generator drew for `booking_id`, `document_id`, `X-Booking-Token` and a
body's `booking_id`, wherever that part of the case is meant to be valid (negative parts stay as generated).
Bounded for the suite (a handful of examples per operation, positive and negative data); raise FUZZ_EXAMPLES
locally for a longer run.
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
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.core.documents.attack_corpus import pdf_bytes
from tests.public_api.conftest import booking_payload
from tests.public_api.test_documents_api import BOUNDARY, multipart

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
# How schema-valid data may still be refused (see test_no_input_breaks_the_api): positive_data_acceptance's own
# list (401, 403, 404, 409, 429) plus core's rules and a file's contents.
ACCEPTED_REFUSALS = {401: "", 403: "", 404: "", 409: "", 429: "", 415: "unsupported_file_type",
                     422: "validation_error"}


def _load_schema():
    # pytest-django has configured Django before collection; building the schema touches no database.
    from totetaxi.wsgi import application

    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    loaded.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                                    max_examples=EXAMPLES, allow_x00=True)
    return loaded


schema = _load_schema()
PREVIEWS = {op.path: op for op in (result.ok() for result in schema.get_all_operations())
            if op.method.upper() == "POST" and op.path.endswith("/preview/")}


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


@pytest.fixture
def real_booking(client, catalog, private_storage, future_weekday):
    """A booking, its access token and one stored document: the ids the generator cannot guess.

    Made before `open_api`: the test client reconnects the request signals that fixture disconnects.
    """
    response = client.post("/api/v1/bookings/", booking_payload(future_weekday), content_type="application/json")
    assert response.status_code == 201, response.content
    booking = response.json()
    stored = client.generic("POST", f"/api/v1/bookings/{booking['id']}/documents/",
                            multipart(pdf_bytes(), "rules.pdf", document_type="building_requirements"),
                            content_type=f"multipart/form-data; boundary={BOUNDARY}",
                            headers={"X-Booking-Token": booking["access_token"]})
    assert stored.status_code == 201, stored.content
    return {"booking_id": booking["id"], "token": booking["access_token"], "document_id": stored.json()["id"]}


def _valid(case, location: str) -> bool:
    component = case.meta.components.get(location) if case.meta else None
    return component is None or component.mode == GenerationMode.POSITIVE


def _use_real_ids(case, real: dict) -> None:
    """Put the real booking, token and document where the case means them to be valid."""
    if case.path_parameters and _valid(case, "path"):
        for name in ("booking_id", "document_id"):
            if name in case.path_parameters:
                case.path_parameters[name] = real[name]
    names = {p.name for p in case.operation.headers}
    if "X-Booking-Token" in names and _valid(case, "header"):
        case.headers = {**(case.headers or {}), "X-Booking-Token": real["token"]}
    if isinstance(case.body, dict) and "booking_id" in case.body and _valid(case, "body"):
        case.body = {**case.body, "booking_id": real["booking_id"]}
    if isinstance(case.body, dict) and "quote_id" in case.body and _valid(case, "body"):
        _use_a_real_quote(case, real)


def _use_a_real_quote(case, real: dict) -> None:
    """A route that takes a `quote_id` from its sibling `…/preview/` (a booking, a cancellation, a change):
    ask that preview first, with the same path and body, so the route gets past "unknown quote"."""
    preview = PREVIEWS.get(case.operation.path + "preview/")
    if preview is None:
        return
    body = {}
    if "requestBody" in preview.definition.raw:
        body = {"body": {k: v for k, v in case.body.items() if k != "quote_id"}, "media_type": "application/json"}
    answer = preview.Case(path_parameters=dict(case.path_parameters or {}),
                          headers={"X-Booking-Token": real["token"]}, **body).call()
    if answer.status_code == 200 and answer.json().get("quote_id"):
        case.body = {**case.body, "quote_id": answer.json()["quote_id"]}


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
def test_no_input_breaks_the_api(case, real_booking, open_api):
    _use_real_ids(case, real_booking)
    response = case.call_and_validate(excluded_checks=[positive_data_acceptance])
    if case.meta.generation.mode == GenerationMode.POSITIVE and 400 <= response.status_code < 500:
        # positive_data_acceptance, minus what no JSON schema can say: schema-valid data still meets core's rules
        # (a catalog code that exists, a date not past, a ZIP code or phone number that parses, addresses
        # required to book but not to price) and a file's contents are checked by reading them. Those answer
        # 422 validation_error / 415 naming the fields; any other refusal of schema-valid data is a contract bug.
        error = response.json()["error"]
        assert response.status_code in ACCEPTED_REFUSALS, response.text
        if response.status_code in (415, 422):
            assert error["code"] == ACCEPTED_REFUSALS[response.status_code] and error["fields"], response.text


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
