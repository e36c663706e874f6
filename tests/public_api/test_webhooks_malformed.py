"""Validly signed (or authenticated) but malformed provider input is a logged 400, never a 5xx.

A 5xx makes the provider retry for days; the body will not get better, so it is refused once and logged.
"""

import base64
import json
import logging

import pytest
from twilio.request_validator import RequestValidator

from core.notifications.models import DeliveryLog, Suppression
from core.payments.models import ProviderEvent
from tests.core.notifications.fixtures import *  # noqa: F403  (fixtures)
from tests.core.notifications.fixtures import WEBHOOK_AUTH

pytest_plugins = ["tests.fakes.stripe_fixtures", "tests.fakes.stripe_payments"]

pytestmark = pytest.mark.django_db


def _refused_and_logged(response, caplog, logger: str):
    assert response.status_code == 400, response.content
    assert any(r.name == logger and r.levelno >= logging.WARNING for r in caplog.records), caplog.records


# --- Stripe -------------------------------------------------------------------------------------------------

def _stripe_event(**changes):
    event = {"id": "evt_malformed_1", "object": "event", "type": "payment_intent.succeeded", "livemode": False,
             "created": 1700000000, "data": {"object": {"id": "pi_1", "object": "payment_intent"}}}
    return {**event, **changes}


@pytest.mark.parametrize("event", [
    _stripe_event(type=["payment_intent.succeeded"]),
    _stripe_event(type={"name": "payment_intent.succeeded"}),
    _stripe_event(data=[{"object": {"id": "pi_1"}}]),
    _stripe_event(data={"object": ["pi_1"]}),
    _stripe_event(id="evt_\x00nul"),
    _stripe_event(id=12345),
    _stripe_event(data={"object": {"id": "pi_1", "description": "a\x00b"}}),
], ids=["type-list", "type-dict", "data-list", "object-list", "id-nul", "id-number", "nul-in-object"])
def test_a_signed_but_malformed_stripe_event_is_a_logged_400(stripe_on, post_webhook, caplog, event):
    response = post_webhook(event)

    _refused_and_logged(response, caplog, "core.payments.webhooks")
    assert response.json()["error"]["code"] == "invalid_webhook_payload"
    assert ProviderEvent.objects.count() == 0


# --- Twilio -------------------------------------------------------------------------------------------------

def _signed_post(client, twilio, path, params):
    signature = RequestValidator(twilio.auth_token).compute_signature(f"http://testserver{path}", params)
    return client.post(path, data=params, HTTP_X_TWILIO_SIGNATURE=signature)


def _status_params(twilio, **changes):
    return {"AccountSid": twilio.account_sid, "MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered",
            "To": "+12125550123", "From": twilio.from_number, **changes}


@pytest.mark.parametrize(("query", "changes"), [
    ("?n=%C2%B2", {}),  # "²": isdigit() is true, int() refuses it
    ("?n=1%00", {}),
    ("", {"MessageSid": "SM\x001"}),
    ("", {"MessageStatus": "deliv\x00ered"}),
], ids=["n-superscript-two", "n-nul", "sid-nul", "status-nul"])
def test_a_signed_but_malformed_twilio_status_callback_is_a_logged_400(client, twilio, caplog, query, changes):
    response = _signed_post(client, twilio, f"/webhooks/twilio/status/{query}", _status_params(twilio, **changes))

    _refused_and_logged(response, caplog, "public_api.notification_webhooks")
    assert DeliveryLog.objects.count() == 0


@pytest.mark.parametrize("changes", [{"From": "+1212\x005550123"}, {"MessageSid": "SM\x00"}, {"Body": "STOP\x00"}],
                         ids=["from-nul", "sid-nul", "body-nul"])
def test_a_signed_but_malformed_inbound_sms_is_a_logged_400(client, twilio, caplog, changes):
    params = {"AccountSid": twilio.account_sid, "MessageSid": "SM" + "1" * 32, "From": "+12125550123",
              "To": twilio.from_number, "Body": "STOP", "NumMedia": "0", **changes}

    response = _signed_post(client, twilio, "/webhooks/twilio/inbound/", params)

    _refused_and_logged(response, caplog, "public_api.notification_webhooks")
    assert not Suppression.objects.exists()


# --- Postmark -----------------------------------------------------------------------------------------------

def _post_postmark(client, body: bytes):
    return client.post("/webhooks/anymail/postmark/tracking/", data=body, content_type="application/json",
                       HTTP_AUTHORIZATION="Basic " + base64.b64encode(WEBHOOK_AUTH.encode()).decode())


@pytest.mark.parametrize("body", [
    b"", b"{}", b"[]", b"null", b"42", b'"Delivery"', b"{not json",
    json.dumps([{"RecordType": "Delivery", "MessageID": "x", "Recipient": "a@example.com"}]).encode(),
    json.dumps({"RecordType": ["Bounce"], "MessageID": "x"}).encode(),
    json.dumps({"RecordType": "Bounce", "Type": "HardBounce", "MessageID": ["x"], "Email": {"a": 1},
                "BouncedAt": 5, "ID": "x"}).encode(),
    json.dumps({"RecordType": "Delivery", "MessageID": "x", "Recipient": "a@example.com",
                "DeliveredAt": "yesterday", "Metadata": ["n"]}).encode(),
    json.dumps({"RecordType": "Bounce", "Type": "HardBounce", "MessageID": "x\u0000", "Email": "a\u0000@example.com",
                "ID": 1, "BouncedAt": "2026-12-01T10:00:00Z"}).encode(),
], ids=["empty", "empty-object", "array", "null", "number", "string", "not-json", "array-of-events",
        "record-type-list", "mistyped-bounce", "mistyped-delivery", "nul-bytes"])
def test_an_authenticated_but_malformed_postmark_post_is_a_logged_400(client, postmark, caplog, body):
    response = _post_postmark(client, body)

    _refused_and_logged(response, caplog, "public_api.notification_webhooks")
    assert not Suppression.objects.exists() and DeliveryLog.objects.count() == 0
