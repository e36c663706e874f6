"""django-anymail's Postmark backend and tracking webhook against the local fake Postmark API.

Runs with or without the project: under pytest-django the project's settings are used (and overridden
per test); with `-p no:django` a minimal standalone configuration is made once.
"""

import base64
import json
import time
import warnings

import pytest

pytest_plugins = ["tests.fakes.notify_fixtures"]

WEBHOOK_AUTH = "postmark:s3cret-webhook"


@pytest.fixture(scope="module")
def django_settings_ready():
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="test-only",
            INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "anymail"],
            DEFAULT_FROM_EMAIL="ToteTaxi <bookings@totetaxi.com>",
            USE_TZ=True,
        )
        django.setup()


@pytest.fixture
def anymail_postmark(django_settings_ready, fake_postmark):
    from django.test import override_settings

    with override_settings(
        EMAIL_BACKEND="anymail.backends.postmark.EmailBackend",
        ANYMAIL={
            "POSTMARK_SERVER_TOKEN": fake_postmark.server_token,
            "POSTMARK_API_URL": fake_postmark.api_url,
            "REQUESTS_TIMEOUT": 2,
            "WEBHOOK_SECRET": WEBHOOK_AUTH,
        },
    ):
        yield fake_postmark


def make_message(to, **kwargs):
    from django.core.mail import EmailMultiAlternatives

    message = EmailMultiAlternatives(
        subject="Your ToteTaxi booking TT-2027-000123 is confirmed",
        body="Hi Alex, your booking is confirmed.",
        from_email="ToteTaxi <bookings@totetaxi.com>",
        to=to,
        reply_to=["support@totetaxi.com"],
        **kwargs,
    )
    message.attach_alternative("<p>Hi Alex, your booking is confirmed.</p>", "text/html")
    message.metadata = {"notification_id": "42"}
    message.tags = ["booking_confirmation"]
    return message


def test_send_reaches_fake_and_returns_message_id(anymail_postmark):
    message = make_message(["Alex Morgan <alex@example.com>"])

    assert message.send() == 1

    [sent] = anymail_postmark.messages
    assert message.anymail_status.status == {"sent"}
    assert message.anymail_status.message_id == sent["MessageID"]
    assert sent["To"] == "Alex Morgan <alex@example.com>"
    assert sent["From"] == "ToteTaxi <bookings@totetaxi.com>"
    assert sent["ReplyTo"] == "support@totetaxi.com"
    assert sent["Subject"].startswith("Your ToteTaxi booking")
    assert sent["TextBody"] and sent["HtmlBody"]
    assert sent["Metadata"] == {"notification_id": "42"}
    assert sent["Tag"] == "booking_confirmation"


def test_inactive_recipient_is_refused(anymail_postmark):
    from anymail.exceptions import AnymailRecipientsRefused

    anymail_postmark.inactive("Alex@Example.com")
    message = make_message(["alex@example.com"])

    with pytest.raises(AnymailRecipientsRefused):
        message.send()

    assert message.anymail_status.recipients["alex@example.com"].status == "rejected"
    assert anymail_postmark.messages == []


def test_partly_inactive_recipients_are_reported_per_address(anymail_postmark):
    anymail_postmark.inactive("jo@example.com")
    message = make_message(["alex@example.com", "jo@example.com"])

    message.send()

    statuses = {email: s.status for email, s in message.anymail_status.recipients.items()}
    assert statuses == {"alex@example.com": "sent", "jo@example.com": "rejected"}
    assert anymail_postmark.messages[0]["DeliveredTo"] == ["alex@example.com"]


def test_invalid_recipient_is_refused(anymail_postmark):
    from anymail.exceptions import AnymailRecipientsRefused

    message = make_message(["alex@exa_mple.com"])

    with pytest.raises(AnymailRecipientsRefused):
        message.send()

    assert message.anymail_status.recipients["alex@exa_mple.com"].status == "invalid"


@pytest.mark.parametrize("status", [500, 429])
def test_server_error_raises_api_error(anymail_postmark, status):
    from anymail.exceptions import AnymailRequestsAPIError

    anymail_postmark.fail_next(1, status=status)

    with pytest.raises(AnymailRequestsAPIError) as excinfo:
        make_message(["alex@example.com"]).send()

    assert excinfo.value.status_code == status
    assert anymail_postmark.messages == []


def test_timeout_raises_api_error(anymail_postmark):
    from anymail.exceptions import AnymailRequestsAPIError

    anymail_postmark.hang_next(1, seconds=3)

    started = time.monotonic()
    with pytest.raises(AnymailRequestsAPIError):
        make_message(["alex@example.com"]).send()

    assert time.monotonic() - started < 2.9


def test_bad_server_token_is_an_api_error(anymail_postmark):
    from anymail.exceptions import AnymailRequestsAPIError
    from django.core.mail import get_connection

    connection = get_connection(server_token="wrong-token")

    with pytest.raises(AnymailRequestsAPIError) as excinfo:
        make_message(["alex@example.com"], connection=connection).send()

    assert excinfo.value.status_code == 401


def test_batch_endpoint_answers_per_message(anymail_postmark):
    import requests

    anymail_postmark.inactive("jo@example.com")
    response = requests.post(
        anymail_postmark.api_url + "email/batch",
        json=[
            {"From": "bookings@totetaxi.com", "To": "alex@example.com", "Subject": "a", "TextBody": "a"},
            {"From": "bookings@totetaxi.com", "To": "jo@example.com", "Subject": "b", "TextBody": "b"},
        ],
        headers={"X-Postmark-Server-Token": anymail_postmark.server_token, "Accept": "application/json"},
        timeout=5,
    )

    assert response.status_code == 200
    ok, refused = response.json()
    assert (ok["ErrorCode"], ok["To"]) == (0, "alex@example.com")
    assert refused["ErrorCode"] == 406


def post_webhook(payload, auth=WEBHOOK_AUTH):
    from anymail.signals import tracking
    from anymail.webhooks.postmark import PostmarkTrackingWebhookView
    from django.test import RequestFactory

    received = []

    def receiver(sender, event, esp_name, **kwargs):
        received.append(event)

    tracking.connect(receiver)
    try:
        request = RequestFactory().post(
            "/anymail/postmark/tracking/", data=json.dumps(payload), content_type="application/json",
            HTTP_AUTHORIZATION="Basic " + base64.b64encode(auth.encode()).decode(),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            response = PostmarkTrackingWebhookView.as_view()(request)
    finally:
        tracking.disconnect(receiver)
    return response, received


@pytest.mark.parametrize(("record_type", "extra", "event_type", "reject_reason", "has_event_id"), [
    ("Delivery", {}, "delivered", None, False),
    ("Bounce", {}, "bounced", "bounced", True),
    ("Bounce", {"Type": "SoftBounce"}, "bounced", "bounced", True),
    ("Bounce", {"Type": "Transient"}, "deferred", None, True),
    ("SpamComplaint", {}, "complained", "spam", True),
    ("Open", {}, "opened", None, False),
    ("Click", {}, "clicked", None, False),
])
def test_tracking_events_parse_in_anymail_webhook(anymail_postmark, record_type, extra, event_type,
                                                   reject_reason, has_event_id):
    message = make_message(["alex@example.com"])
    message.send()
    message_id = message.anymail_status.message_id

    payload = anymail_postmark.tracking_event(record_type, message_id, "alex@example.com", **extra)
    response, [event] = post_webhook(payload)

    assert response.status_code == 200
    assert event.event_type == event_type
    assert event.reject_reason == reject_reason
    assert event.message_id == message_id
    assert event.recipient == "alex@example.com"
    assert event.metadata == {"notification_id": "42"}
    assert event.tags == ["booking_confirmation"]
    assert (event.event_id is not None) == has_event_id
    if record_type not in ("Click", "Open"):  # anymail reads no timestamp from these
        assert event.timestamp is not None and event.timestamp.tzinfo is not None


def test_hard_bounce_makes_the_address_inactive(anymail_postmark):
    message = make_message(["alex@example.com"])
    message.send()

    anymail_postmark.tracking_event("Bounce", message.anymail_status.message_id, "alex@example.com")

    assert "alex@example.com" in anymail_postmark.inactive_addresses


def test_webhook_without_basic_auth_is_refused(anymail_postmark):
    payload = anymail_postmark.tracking_event("Delivery", "0a129aee-e1cd-480d-b08d-4f48548ff48d", "a@example.com")

    from anymail.exceptions import AnymailWebhookValidationFailure
    from django.core.exceptions import SuspiciousOperation

    # Django's handler turns this SuspiciousOperation into a 400 response.
    with pytest.raises(AnymailWebhookValidationFailure) as excinfo:
        post_webhook(payload, auth="postmark:wrong")

    assert isinstance(excinfo.value, SuspiciousOperation)
