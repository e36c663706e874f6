"""Customer data requests: the JSON export, and anonymising that keeps bookings, money and audit rows."""

import json

import pytest

from core.bookings.models import Booking, BookingNote, Quote
from core.bookings.services import booking_create
from core.customers.models import Address, CustomerProfile
from core.customers.privacy import customer_anonymise, customer_data_export
from core.customers.services import CustomerData
from core.notifications.models import DeliveryLog, Notification
from core.payments.models import Payment, PaymentAudit

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.core.customers.fixtures"]
PERSONAL = ["Alex Morgan", "alex.morgan@example.com", "+12125550123", "245 East 72nd", "Apt 5B",
            "27 Further Lane", "East Hampton", "10021", "ring Bob the doorman", "prefers mornings",
            "alex.dup@example.com", "Sasha Morgan", "+16465550199"]


def _dump(queryset) -> str:
    return json.dumps(list(queryset.values()), default=str).lower()


def test_export_holds_profile_bookings_payments_notifications_and_history(customer_with_history):
    customer, booking, duplicate, _ = customer_with_history
    data = customer_data_export(customer=customer)
    assert json.loads(json.dumps(data)) == data  # plain JSON
    assert [p["email"] for p in data["profiles"]] == ["alex.morgan@example.com", "alex.dup@example.com"]
    assert {b["booking_number"] for b in data["bookings"]} == {booking.booking_number, duplicate.booking_number}
    mine = next(b for b in data["bookings"] if b["id"] == str(booking.pk))
    assert mine["pickup_address"]["line2"] == "Apt 5B" and mine["notes"] == "Please ring Bob the doorman"
    assert "access_token_hash" not in mine
    assert data["payments"][0]["reference"] == "1234"
    assert data["notifications"] and data["notifications"][0]["recipients"] == ["alex.morgan@example.com"]
    assert len(data["profiles"][0]["history"]) >= 2


def test_anonymise_leaves_nothing_personal_but_keeps_bookings_money_and_audit(customer_with_history):
    customer, booking, duplicate, staff = customer_with_history
    payments_before = list(Payment.objects.values_list("pk", "amount_cents", "status"))
    audits_before = PaymentAudit.objects.count()
    booking_before = Booking.objects.values("booking_number", "total_price", "status", "payment_status").get(
        pk=booking.pk)
    assert Notification.objects.filter(booking=booking).exists()

    customer_anonymise(customer=customer, actor=staff)

    places = {
        "profiles": CustomerProfile.objects.all(), "profile history": CustomerProfile.history.all(),
        "addresses": Address.objects.all(), "address history": Address.history.all(),
        "bookings": Booking.objects.all(), "booking history": Booking.history.all(),
        "booking notes": BookingNote.objects.all(), "quotes": Quote.objects.all(),
        "notifications": Notification.objects.all(), "notification history": Notification.history.all(),
        "delivery logs": DeliveryLog.objects.all(),
    }
    for where, rows in places.items():
        dumped = _dump(rows)
        for value in PERSONAL:
            assert value.lower() not in dumped, f"{value!r} still in {where}"
    assert Booking.objects.values("booking_number", "total_price", "status", "payment_status").get(
        pk=booking.pk) == booking_before
    assert list(Payment.objects.values_list("pk", "amount_cents", "status")) == payments_before
    assert PaymentAudit.objects.count() == audits_before
    latest = CustomerProfile.history.filter(id=customer.pk).latest("history_date")
    assert latest.history_user == staff  # the anonymisation itself is audited, by whom
    assert Booking.objects.filter(customer__in=[customer, duplicate.customer]).count() == 2


def test_anonymise_spares_another_customers_rows(customer_with_history, make_request):
    customer, _, _, staff = customer_with_history
    other, _ = booking_create(request=make_request(
        customer=CustomerData(name="Jordan Lee", email="jordan@example.com", phone="+12125550177")))
    customer_anonymise(customer=customer, actor=staff)
    other.refresh_from_db()
    assert other.customer.email == "jordan@example.com" and other.pickup_address.line1 == "245 East 72nd Street"

