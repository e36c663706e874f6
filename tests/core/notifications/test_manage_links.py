"""Every customer email about a booking carries a working manage link, minted at send time and never stored."""

import re

import pytest
from django.core import serializers

from core.notifications.models import DeliveryLog, Notification
from core.notifications.services import (
    notification_send_custom,
    notifications_send_due,
    notify_booking_event,
    reminder_time,
)

pytestmark = pytest.mark.django_db
LINK = re.compile(r"/bookings/(?P<id>[0-9a-f-]{36})/(?P<pay>pay/)?\?token=(?P<token>[^\s\"<]+)")


def _stored() -> str:
    """Everything the database keeps about notifications: rows, their history, delivery logs, as JSON."""
    return serializers.serialize("json", [*Notification.objects.all(), *Notification.history.all(),
                                          *DeliveryLog.objects.all()])


def _links(text: str) -> list[re.Match]:
    return list(LINK.finditer(text or ""))


def _opens(client, booking_id: str, token: str) -> bool:
    return client.get(f"/api/v1/bookings/{booking_id}/", HTTP_X_BOOKING_TOKEN=token).status_code == 200


def test_confirmation_receipt_and_reminder_links_work_and_no_row_holds_the_token(
        client, booking, postmark, twilio, django_capture_on_commit_callbacks):
    booking.customer.phone = "+12125550123"
    booking.customer.save()
    with django_capture_on_commit_callbacks(execute=True):
        notify_booking_event(booking=booking, event="payment_confirmation")
    notifications_send_due(now=reminder_time(booking.pickup_date))

    sent_types = sorted(m["Tag"] for m in postmark.messages)
    assert sent_types == ["booking_confirmation", "booking_reminder", "payment_confirmation"]
    tokens = set()
    for message in postmark.messages:
        for body in ("TextBody", "HtmlBody"):
            links = _links(message[body])
            assert links, f"{message['Tag']} {body} has no manage link"
            assert all(link["id"] == str(booking.pk) and _opens(client, link["id"], link["token"])
                       for link in links)
            tokens.update(link["token"] for link in links)
    sms_links = [link for sms in twilio.messages for link in _links(sms["body"])]
    assert sms_links and all(_opens(client, link["id"], link["token"]) for link in sms_links)
    tokens.update(link["token"] for link in sms_links)

    stored = _stored()
    assert "{{ manage_url }}" in stored  # the rows keep the placeholder ...
    assert not any(token in stored for token in tokens)  # ... never the key


def test_a_staff_message_about_a_booking_ends_with_the_manage_link(client, booking, postmark,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notification_send_custom(booking=booking, subject="Your move", body="See you & your boxes on Tuesday.",
                                 channels=["email"], actor=None)

    [message] = postmark.messages
    [text_link] = _links(message["TextBody"])
    href, shown = _links(message["HtmlBody"])  # <a href="link">link</a>
    assert href["token"] == shown["token"] and "you &amp; your boxes" in message["HtmlBody"]
    assert '<a href="http://' in message["HtmlBody"]
    assert _opens(client, str(booking.pk), text_link["token"]) and _opens(client, str(booking.pk), href["token"])
    stored = _stored()
    assert text_link["token"] not in stored and href["token"] not in stored


def test_a_payment_link_placeholder_becomes_the_pay_page_link(client, booking, postmark,
                                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notification_send_custom(booking=booking, subject="Pay", body="Pay here: {{ pay_url }}", channels=["email"],
                                 actor=None)

    [message] = postmark.messages
    pay, manage = _links(message["TextBody"])
    assert pay["pay"] and not manage["pay"]
    assert _opens(client, str(booking.pk), pay["token"])
    assert pay["token"] not in _stored()


def test_the_migration_scrubs_links_the_first_access_link_emails_stored(booking):
    import importlib

    from django.apps import apps

    from core.bookings.changes_access import manage_url

    url = manage_url(booking)
    notification = Notification.objects.create(
        booking=booking, notification_type="custom", channel="email", recipients=["a@example.com"],
        dedupe_key="custom:old", body_text=f"Here is your link:\n\n{url}\n\nThanks", body_html=f"<p>{url}</p>")
    token = url.split("token=")[1]
    assert token in _stored()

    importlib.import_module("core.migrations.0013_phone_bookings").scrub_stored_links(apps, None)

    notification.refresh_from_db()
    assert notification.body_text == "Here is your link:\n\n{{ manage_url }}\n\nThanks"
    assert token not in _stored()
