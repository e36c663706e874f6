"""Delivery tracking through the real endpoints: anymail's Postmark view and our Twilio status callback."""

import base64
import json

import pytest
from django.core import mail

from core.notifications.models import Channel, DeliveryLog, Notification, NotificationStatus, Suppression
from core.notifications.services import notify_booking_event
from tests.core.notifications.fixtures import *  # noqa: F403  (fixtures)
from tests.core.notifications.fixtures import WEBHOOK_AUTH

POSTMARK_URL = "/webhooks/anymail/postmark/tracking/"
TWILIO_URL = "/webhooks/twilio/status/"


def post_postmark(client, payload, auth=WEBHOOK_AUTH):
    return client.post(POSTMARK_URL, data=json.dumps(payload), content_type="application/json",
                       HTTP_AUTHORIZATION="Basic " + base64.b64encode(auth.encode()).decode())


@pytest.fixture
def sent_email(booking, postmark, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        [notification] = notify_booking_event(booking=booking, event="booking_confirmation")
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    return notification


def test_delivery_then_open_updates_status_and_logs_once(client, sent_email, postmark):
    to = sent_email.recipients[0]
    delivery = postmark.tracking_event("Delivery", sent_email.provider_message_id, to)
    opened = postmark.tracking_event("Open", sent_email.provider_message_id, to)

    assert post_postmark(client, delivery).status_code == 200
    assert post_postmark(client, delivery).status_code == 200  # Postmark retried: no double log
    assert post_postmark(client, opened).status_code == 200
    assert post_postmark(client, delivery).status_code == 200  # late duplicate never goes backwards

    sent_email.refresh_from_db()
    assert sent_email.status == NotificationStatus.OPENED
    assert [log.event for log in sent_email.delivery_logs.all()] == ["sent", "delivered", "opened"]


def test_hard_bounce_suppresses_the_address_for_staff_and_future_sends(
        client, sent_email, postmark, booking, django_capture_on_commit_callbacks):
    to = sent_email.recipients[0]
    bounce = postmark.tracking_event("Bounce", sent_email.provider_message_id, to)

    assert post_postmark(client, bounce).status_code == 200
    assert post_postmark(client, bounce).status_code == 200

    sent_email.refresh_from_db()
    assert sent_email.status == NotificationStatus.BOUNCED
    assert "unable to deliver" in sent_email.last_error
    assert sent_email.delivery_logs.filter(event="bounced").count() == 1
    assert Suppression.objects.get(channel="email").reason == "hard_bounce"

    with django_capture_on_commit_callbacks(execute=True):
        notifications = notify_booking_event(booking=booking, event="payment_confirmation")
    assert {n.status for n in notifications if n.notification_type == "payment_confirmation"} == {
        NotificationStatus.SUPPRESSED}
    assert len(postmark.messages) == 1


def test_spam_complaint_suppresses(client, sent_email, postmark):
    complaint = postmark.tracking_event("SpamComplaint", sent_email.provider_message_id, sent_email.recipients[0])

    assert post_postmark(client, complaint).status_code == 200

    sent_email.refresh_from_db()
    assert sent_email.status == NotificationStatus.BOUNCED
    assert Suppression.objects.get(channel="email").reason == "spam_complaint"


def test_soft_bounce_is_logged_without_suppressing(client, sent_email, postmark):
    soft = postmark.tracking_event("Bounce", sent_email.provider_message_id, sent_email.recipients[0],
                                   Type="SoftBounce")

    assert post_postmark(client, soft).status_code == 200

    sent_email.refresh_from_db()
    assert sent_email.status == NotificationStatus.SENT
    assert sent_email.delivery_logs.filter(event="bounced").exists()
    assert not Suppression.objects.exists()


def test_postmark_webhook_with_bad_basic_auth_is_refused(client, sent_email, postmark):
    delivery = postmark.tracking_event("Delivery", sent_email.provider_message_id, sent_email.recipients[0])

    response = post_postmark(client, delivery, auth="postmark:wrong")
    no_auth = client.post(POSTMARK_URL, data=json.dumps(delivery), content_type="application/json")

    assert response.status_code in (400, 401)
    assert no_auth.status_code in (400, 401)
    assert sent_email.delivery_logs.count() == 1  # just "sent"


@pytest.mark.parametrize("debug", [False, True], ids=["production", "demo"])
def test_without_a_webhook_secret_every_post_is_refused(client, sent_email, postmark, settings, caplog, debug):
    # anymail accepts unauthenticated posts when WEBHOOK_SECRET is empty: a forged bounce must not suppress
    settings.DEBUG = debug
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": ""}
    bounce = postmark.tracking_event("Bounce", sent_email.provider_message_id, sent_email.recipients[0])

    with pytest.warns(Warning):  # anymail's own "insecure webhook" warning
        response = client.post(POSTMARK_URL, data=json.dumps(bounce), content_type="application/json")
        with_any_auth = post_postmark(client, bounce, auth="postmark:")

    assert response.status_code == 403 and with_any_auth.status_code == 403
    assert "ANYMAIL_WEBHOOK_SECRET is not set" in caplog.text
    assert not Suppression.objects.exists()
    assert sent_email.delivery_logs.count() == 1


def test_event_for_an_unknown_message_is_accepted_and_ignored(client, sent_email, postmark):
    delivery = postmark.tracking_event("Delivery", "00000000-0000-0000-0000-000000000000", "x@example.com")

    assert post_postmark(client, delivery).status_code == 200
    assert DeliveryLog.objects.count() == 1


# --- Twilio ------------------------------------------------------------------------------------------------

@pytest.fixture
def sent_sms(booking, twilio, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notify_booking_event(booking=booking, event="delivery_confirmation")
    mail.outbox.clear()
    return Notification.objects.get(channel=Channel.SMS)


def callback(client, twilio, notification, status, **kwargs):
    url = twilio.get_message(notification.provider_message_id)["status_callback"]
    params, signature = twilio.status_callback_request(notification.provider_message_id, status, **kwargs)
    return client.post(url.removeprefix("http://testserver"), data=params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_twilio_delivered_callback_updates_and_duplicates_log_once(client, twilio, sent_sms):
    assert callback(client, twilio, sent_sms, "sent").status_code == 204
    assert callback(client, twilio, sent_sms, "delivered").status_code == 204
    assert callback(client, twilio, sent_sms, "delivered").status_code == 204

    sent_sms.refresh_from_db()
    assert sent_sms.status == NotificationStatus.DELIVERED
    assert [log.event for log in sent_sms.delivery_logs.all()] == ["sent", "sent", "delivered"]
    assert sent_sms.delivery_logs.filter(provider_event_id__endswith=":delivered").count() == 1


def test_twilio_undelivered_shows_the_error(client, twilio, sent_sms):
    assert callback(client, twilio, sent_sms, "undelivered", error_code=30006).status_code == 204

    sent_sms.refresh_from_db()
    assert sent_sms.status == NotificationStatus.FAILED
    assert "30006" in sent_sms.last_error


def test_twilio_callback_with_a_bad_signature_is_refused(client, twilio, sent_sms):
    url = twilio.get_message(sent_sms.provider_message_id)["status_callback"]
    params, signature = twilio.status_callback_request(sent_sms.provider_message_id, "delivered",
                                                       auth_token="not-the-token")

    response = client.post(url.removeprefix("http://testserver"), data=params, HTTP_X_TWILIO_SIGNATURE=signature)
    unsigned = client.post(url.removeprefix("http://testserver"), data=params)

    assert response.status_code == 403 and unsigned.status_code == 403
    sent_sms.refresh_from_db()
    assert sent_sms.status == NotificationStatus.SENT
    assert sent_sms.delivery_logs.count() == 1


def test_twilio_signature_is_checked_against_the_public_url_behind_a_proxy(client, twilio, sent_sms, settings):
    # Twilio called https://ops.totetaxi.com/...; the proxy forwarded it to us as http://testserver/...
    settings.PUBLIC_BASE_URL = "https://ops.totetaxi.com"
    path = f"{TWILIO_URL}?n={sent_sms.pk}"
    params, signature = twilio.status_callback_request(sent_sms.provider_message_id, "delivered",
                                                       url=f"https://ops.totetaxi.com{path}")

    assert client.post(path, data=params, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 204

    settings.PUBLIC_BASE_URL = ""
    params, signature = twilio.status_callback_request(sent_sms.provider_message_id, "undelivered",
                                                       url=f"https://ops.totetaxi.com{path}")
    assert client.post(path, data=params, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 403


def test_twilio_callback_only_accepts_post(client, twilio):
    assert client.get(TWILIO_URL).status_code == 405


def inbound(client, twilio, body, number="+12125550123", token=None):
    from twilio.request_validator import RequestValidator

    params = {"AccountSid": twilio.account_sid, "MessageSid": "SM" + "1" * 32, "From": number,
              "To": twilio.from_number, "Body": body, "NumMedia": "0"}
    signature = RequestValidator(token or twilio.auth_token).compute_signature(
        "http://testserver/webhooks/twilio/inbound/", params)
    return client.post("/webhooks/twilio/inbound/", data=params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_inbound_stop_suppresses_sms_and_start_lifts_it(client, twilio, booking, django_capture_on_commit_callbacks):
    response = inbound(client, twilio, " stop ")

    assert response.status_code == 200 and response["Content-Type"] == "text/xml"
    assert Suppression.objects.get(channel="sms").reason == "sms_stop"
    with django_capture_on_commit_callbacks(execute=True):
        notify_booking_event(booking=booking, event="booking_confirmation")
    assert Notification.objects.get(channel="sms").status == NotificationStatus.SUPPRESSED
    assert twilio.messages == []

    assert inbound(client, twilio, "START").status_code == 200
    assert not Suppression.objects.exists()
    assert inbound(client, twilio, "Thanks, see you Wednesday").status_code == 200
    assert not Suppression.objects.exists()


def test_inbound_with_a_bad_signature_is_refused(client, twilio, db):
    assert inbound(client, twilio, "STOP", token="forged").status_code == 403
    assert not Suppression.objects.exists()
