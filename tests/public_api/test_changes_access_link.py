"""POST bookings/access-link/: a lost token is recovered through the emailed link; no enumeration; rate limited."""

import re
import time

import pytest
from django.core import serializers, signing

from core.bookings.changes_access import manage_token
from core.bookings.models import Booking
from core.notifications.models import DeliveryLog, Notification
from tests.core.notifications.fixtures import email_templates, postmark  # noqa: F401  (fixtures: templates; anymail → the fake Postmark)

pytestmark = pytest.mark.django_db
URL = "/api/v1/bookings/access-link/"
LINK = re.compile(r"/bookings/(?P<id>[0-9a-f-]{36})/\?token=(?P<token>\S+)")


@pytest.fixture
def booked(post_json, payload):
    """A booking made through the API whose access token the customer then lost."""
    body = post_json("/api/v1/bookings/", payload()).json()
    return Booking.objects.select_related("customer").get(pk=body["id"])


def _ask(post_json, booking_number, email, ip="198.51.100.7"):
    return post_json(URL, {"booking_number": booking_number, "email": email}, REMOTE_ADDR=ip)


def test_a_lost_token_is_recovered_through_the_emailed_link(client, post_json, booked, postmark,  # noqa: F811
                                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _ask(post_json, booked.booking_number.lower(), booked.customer.email.upper())
    assert response.status_code == 202 and response.json() == {}

    [message] = postmark.messages
    assert message["To"] == booked.customer.email
    link = LINK.search(message["TextBody"])
    assert link and link["id"] == str(booked.pk)
    detail = client.get(f"/api/v1/bookings/{booked.pk}/", HTTP_X_BOOKING_TOKEN=link["token"])
    assert detail.status_code == 200 and detail.json()["booking_number"] == booked.booking_number
    preview = post_json(f"/api/v1/bookings/{booked.pk}/cancel/preview/", {}, HTTP_X_BOOKING_TOKEN=link["token"])
    assert preview.status_code == 200
    # the link was minted when the email left: no notification row, history row or delivery log holds it
    stored = serializers.serialize("json", [*Notification.objects.all(), *Notification.history.all(),
                                            *DeliveryLog.objects.all()])
    assert "{{ manage_url }}" in stored and link["token"] not in stored


@pytest.mark.parametrize("which", ["wrong_email", "unknown_number", "empty"])
def test_no_match_gets_the_same_answer_and_no_mail(post_json, booked, postmark, which,  # noqa: F811
                                                   django_capture_on_commit_callbacks):
    number, email = {"wrong_email": (booked.booking_number, "someone@else.com"),
                     "unknown_number": ("TT-2027-999999", booked.customer.email),
                     "empty": ("", "")}[which]
    with django_capture_on_commit_callbacks(execute=True):
        response = _ask(post_json, number, email)

    assert response.status_code == 202 and response.json() == {}
    assert postmark.messages == [] and Notification.objects.count() == 0


def test_the_rate_limit_holds_per_booking_whatever_the_ip_and_email(post_json, booked):
    answers = [_ask(post_json, booked.booking_number, f"guess{i}@example.com", ip=f"203.0.113.{i}").status_code
               for i in range(4)]
    assert answers == [202, 202, 202, 429]
    # an unknown number is limited exactly like a real one (nothing to learn from the 429 either)
    answers = [_ask(post_json, "TT-2027-999999", "x@example.com", ip=f"192.0.2.{i}").status_code for i in range(4)]
    assert answers == [202, 202, 202, 429]


def test_the_rate_limit_holds_per_ip(post_json, booked):
    answers = [_ask(post_json, f"TT-2027-00{i:04d}", "x@example.com").status_code for i in range(11)]

    assert answers == [202] * 10 + [429]
    response = _ask(post_json, "TT-2027-001234", "x@example.com")
    assert response.json()["error"]["code"] == "rate_limited" and response["Retry-After"]


def test_a_link_opens_only_its_booking_and_only_until_it_expires(client, post_json, booked, payload, monkeypatch):
    other = Booking.objects.get(pk=post_json("/api/v1/bookings/", payload()).json()["id"])
    token = manage_token(booked)

    assert client.get(f"/api/v1/bookings/{other.pk}/", HTTP_X_BOOKING_TOKEN=token).status_code == 404
    assert client.get(f"/api/v1/bookings/{booked.pk}/", HTTP_X_BOOKING_TOKEN=token + "x").status_code == 404
    forged = signing.dumps({"b": str(booked.pk), "f": "0" * 16}, salt="core.bookings.manage-link")
    assert client.get(f"/api/v1/bookings/{booked.pk}/", HTTP_X_BOOKING_TOKEN=forged).status_code == 404
    now = time.time()
    monkeypatch.setattr(signing.time, "time", lambda: now - 14 * 86400 - 1)  # minted 14 days and a second ago
    stale = manage_token(booked)
    monkeypatch.undo()
    assert client.get(f"/api/v1/bookings/{booked.pk}/", HTTP_X_BOOKING_TOKEN=stale).status_code == 404
    assert client.get(f"/api/v1/bookings/{booked.pk}/", HTTP_X_BOOKING_TOKEN=token).status_code == 200


def test_the_cancellation_notice_carries_a_working_manage_link_that_is_not_stored(
        client, post_json, booked, postmark, email_templates, django_capture_on_commit_callbacks):  # noqa: F811
    token = manage_token(booked)
    quote_id = post_json(f"/api/v1/bookings/{booked.pk}/cancel/preview/", {},
                         HTTP_X_BOOKING_TOKEN=token).json()["quote_id"]
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(f"/api/v1/bookings/{booked.pk}/cancel/", {"quote_id": quote_id},
                             HTTP_X_BOOKING_TOKEN=token)
    assert response.status_code == 200, response.json()

    [notice] = [m for m in postmark.messages if "cancelled" in m["Subject"]]
    link = LINK.search(notice["TextBody"])
    assert link and link["id"] == str(booked.pk)
    assert client.get(f"/api/v1/bookings/{booked.pk}/", HTTP_X_BOOKING_TOKEN=link["token"]).status_code == 200
    stored = serializers.serialize("json", [*Notification.objects.all(), *Notification.history.all()])
    assert link["token"] not in stored
