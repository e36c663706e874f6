"""Everything under /api/v1/ answers in the contract's error envelope, whoever produced the error."""

import json

import pytest

from core.common.errors import ErrorCode

pytestmark = pytest.mark.django_db


def _envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


@pytest.mark.parametrize("path", ["/api/v1/nope/", "/api/v1/bookings/a/b/c/", "/api/v1/services/packages/x/",
                                  "/api/v1/webhooks/nope/"])
def test_an_unknown_path_is_a_json_404(client, path):
    _envelope(client.get(path), 404, "not_found")


def test_an_unknown_path_outside_the_api_keeps_django_s_page(client):
    assert not client.get("/nope/")["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("put", "/api/v1/bookings/", "POST"),
    ("delete", "/api/v1/services/packages/", "GET"),
    ("get", "/api/v1/webhooks/stripe/", "POST"),
])
def test_a_method_the_path_does_not_take_is_a_json_405_with_allow(client, method, path, allow):
    response = getattr(client, method)(path)

    error = _envelope(response, 405, "method_not_allowed")
    assert method.upper() in error["message"]
    assert response["Allow"] == allow


def test_the_envelope_keeps_the_cors_headers_the_site_needs_to_read_it(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://www.totetaxi.com"]

    response = client.put("/api/v1/bookings/", HTTP_ORIGIN="https://www.totetaxi.com")

    _envelope(response, 405, "method_not_allowed")
    assert response["Access-Control-Allow-Origin"] == "https://www.totetaxi.com"


def test_an_oversized_webhook_body_is_413_in_the_envelope(client, settings):
    # The Stripe webhook is a plain Django view (raw body for the signature), outside ninja's handlers.
    body = json.dumps({"id": "evt_1", "type": "x", "data": "y" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})

    response = client.post("/api/v1/webhooks/stripe/", data=body, content_type="application/json",
                           HTTP_STRIPE_SIGNATURE="t=1,v1=00")

    _envelope(response, 413, "payload_too_large")


def test_the_docs_list_every_error_code_with_its_status_and_meaning(client):
    schema = client.get("/api/v1/openapi.json").json()

    description = schema["info"]["description"]
    for code in ErrorCode:
        assert f"| `{code}` | {code.status} | {code.meaning} |" in description
    assert schema["components"]["schemas"]["ErrorCode"]["enum"] == [str(code) for code in ErrorCode]


@pytest.mark.parametrize(("status", "code"), [(400, "bad_request"), (401, "unauthorized"), (404, "not_found"),
                                              (405, "method_not_allowed"), (413, "payload_too_large"),
                                              (418, "bad_request"), (500, "internal_error"),
                                              (503, "internal_error")])
def test_a_plain_error_from_any_view_under_the_api_gets_a_code_for_its_status(rf, status, code):
    from django.http import HttpResponse

    from public_api.errors import ApiErrorEnvelopeMiddleware

    middleware = ApiErrorEnvelopeMiddleware(lambda request: HttpResponse("plain text", status=status))

    response = middleware(rf.post("/api/v1/webhooks/some-provider/"))

    assert response.status_code == status and response["Content-Type"] == "application/json"
    assert json.loads(response.content)["error"]["code"] == code
