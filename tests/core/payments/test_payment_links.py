"""payment_link_send: email and SMS reach the fakes with a pay-page link minted at send time; refusals write nothing."""

import re

import pytest

from core.bookings.models import BookingStatus
from core.bookings.services import booking_create, booking_transition
from core.common.errors import PermissionDenied
from core.notifications.errors import NoRecipient
from core.notifications.models import Notification
from core.payments.errors import AlreadyPaid
from core.payments.services import payment_link_send
from tests.core.notifications.fixtures import email_templates, postmark, twilio  # noqa: F401  (fixtures)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PAY = re.compile(r"/bookings/(?P<id>[0-9a-f-]{36})/pay/\?token=(?P<token>[^\s\"<]+)")


@pytest.fixture
def staff():
    return UserFactory(is_staff=True)


def test_email_and_sms_carry_a_working_pay_link(client, make_request, staff, postmark, twilio,  # noqa: F811
                                               django_capture_on_commit_callbacks):
    booking, _token = booking_create(request=make_request(), source="phone", hold_minutes=24 * 60)

    with django_capture_on_commit_callbacks(execute=True):
        sent = payment_link_send(booking=booking, channels=["email", "sms"], actor=staff)

    assert [n.channel for n in sent] == ["email", "sms"]
    [email] = postmark.messages
    [sms] = twilio.messages
    tokens = [PAY.search(email["TextBody"])["token"], PAY.search(sms["body"])["token"]]
    assert f"${booking.total_price}" in sms["body"]
    for token in tokens:
        assert client.get(f"/api/v1/bookings/{booking.pk}/", HTTP_X_BOOKING_TOKEN=token).status_code == 200
    stored = "".join(f"{n.body_text}{n.body_html}" for n in Notification.objects.all())
    assert "{{ pay_url }}" in stored and not any(token in stored for token in tokens)


def test_a_missing_phone_refuses_both_channels(make_request, staff, postmark):  # noqa: F811
    booking, _token = booking_create(request=make_request())
    booking.customer.phone = ""
    booking.customer.save()

    with pytest.raises(NoRecipient):
        payment_link_send(booking=booking, channels=["email", "sms"], actor=staff)

    assert Notification.objects.count() == 0


def test_refused_for_a_paid_booking_and_for_non_staff(make_request, staff):
    booking, _token = booking_create(request=make_request())
    with pytest.raises(PermissionDenied):
        payment_link_send(booking=booking, channels=["email"], actor=None)
    booking_transition(booking=booking, to_status=BookingStatus.PAID, reason="test")

    with pytest.raises(AlreadyPaid):
        payment_link_send(booking=booking, channels=["email"], actor=staff)

    assert Notification.objects.count() == 0
