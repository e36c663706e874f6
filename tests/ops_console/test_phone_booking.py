"""New booking (phone): price preview (a quote), creation through booking_create, refusals as form errors, then
the payment step (payment link at the fake Postmark, or an offline payment)."""

import datetime as dt
import re

import pytest
from django.core import serializers
from django.urls import reverse
from django.utils import timezone

from core.bookings.models import Booking, BookingSource, BookingStatus, PaymentState
from core.catalog.models import VanSchedule
from core.customers.models import CustomerProfile
from core.notifications.models import Notification
from core.payments.models import PaymentAudit
from core.payments.services import payment_link_refusal
from tests.core.notifications.fixtures import email_templates, postmark  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db
URL = "/admin/core/booking/phone/"
PAY = re.compile(r"/bookings/(?P<id>[0-9a-f-]{36})/pay/\?token=(?P<token>[^\s\"<]+)")


@pytest.fixture
def form_data(catalog, future_weekday):
    def _data(**overrides):
        data = {
            "customer_name": "Pat Caller", "customer_email": "pat.caller@example.com",
            "customer_phone": "+12125550199",
            "pickup_address_line1": "245 East 72nd Street", "pickup_address_line2": "Apt 4B",
            "pickup_address_city": "New York", "pickup_address_state": "NY", "pickup_address_zip_code": "10021",
            "dropoff_address_line1": "27 Further Lane", "dropoff_address_line2": "",
            "dropoff_address_city": "East Hampton", "dropoff_address_state": "NY",
            "dropoff_address_zip_code": "11937",
            "booking_type": "mini_move", "package": "petite", "item_count": "0",
            "specialty_item_1": "peloton", "specialty_qty_1": "1", "specialty_item_2": "", "specialty_qty_2": "1",
            "specialty_item_3": "", "specialty_qty_3": "1",
            "pickup_date": future_weekday.isoformat(), "pickup_window": "morning", "notes": "Doorman until 6pm",
        }
        data.update(overrides)
        return data

    return _data


def _preview(client, data):
    response = client.post(URL, {**data, "intent": "preview"})
    assert response.status_code == 200
    return response, response.context["form"].data.get("quote_id", "")


def test_operations_previews_the_price_then_creates_a_phone_booking(role_client, form_data):
    client = role_client("operations")
    data = form_data()

    page, quote_id = _preview(client, data)
    assert quote_id and 'data-testid="phone-booking-create"' in page.content.decode()
    total = page.context["preview"].breakdown["total_price"]
    assert Booking.objects.count() == 0  # a preview writes no booking

    response = client.post(URL, {**data, "quote_id": quote_id, "intent": "create"})

    booking = Booking.objects.select_related("customer", "pickup_address").get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:core_booking_phone_done", args=[booking.pk])
    assert booking.source == BookingSource.PHONE and str(booking.quote_id) == quote_id
    assert str(booking.total_price) == total and booking.status == BookingStatus.PENDING
    assert booking.customer.email == "pat.caller@example.com" and booking.pickup_address.line2 == "Apt 4B"
    assert [(line.item.code, line.quantity) for line in booking.specialty_lines.all()] == [("peloton", 1)]
    held = booking.hold_expires_at - timezone.now()
    assert dt.timedelta(hours=23) < held <= dt.timedelta(hours=24)  # time to use the payment link
    assert booking.history.earliest().history_user == client.user
    done = client.get(response["Location"]).content.decode()
    assert booking.booking_number in done and 'data-testid="phone-booked-pay-link"' in done
    assert 'data-testid="phone-booked-offline"' in done


def test_a_fourth_specialty_item_gets_its_row_after_the_preview_and_is_booked(role_client, form_data):
    client = role_client("operations")
    first = client.get(URL).content.decode()
    assert 'name="specialty_item_3"' in first and 'name="specialty_item_4"' not in first
    three = form_data(booking_type="specialty", package="", specialty_item_2="surfboard", specialty_item_3="crib")

    page, _quote = _preview(client, three)
    html = page.content.decode()
    assert 'name="specialty_item_4"' in html and 'name="specialty_item_5"' in html  # spare rows below the third

    four = {**three, "specialty_item_4": "wardrobe_box", "specialty_qty_4": "6"}
    _page, quote_id = _preview(client, four)
    response = client.post(URL, {**four, "quote_id": quote_id, "intent": "create"})

    assert response.status_code == 302
    booking = Booking.objects.get()
    assert sorted((line.item.code, line.quantity) for line in booking.specialty_lines.all()) == [
        ("crib", 1), ("peloton", 1), ("surfboard", 1), ("wardrobe_box", 6)]


def test_posted_rows_never_exceed_what_a_booking_may_hold(role_client, form_data):
    from core.catalog.pricing import MAX_SPECIALTY_LINES

    data = form_data(**{f"specialty_item_{n}": "crib" for n in range(1, 40)})
    page, _quote = _preview(role_client("operations"), data)
    html = page.content.decode()
    assert f'name="specialty_item_{MAX_SPECIALTY_LINES}"' in html
    assert f'name="specialty_item_{MAX_SPECIALTY_LINES + 1}"' not in html


def test_create_without_a_preview_only_previews(role_client, form_data):
    client = role_client("operations")
    response = client.post(URL, {**form_data(), "intent": "create"})
    assert response.status_code == 200 and response.context["preview"] is not None
    assert Booking.objects.count() == 0


def test_a_full_day_is_a_form_error_with_the_nearest_dates_and_nothing_is_written(role_client, form_data,
                                                                                future_weekday):
    client = role_client("operations")
    data = form_data()
    _page, quote_id = _preview(client, data)
    VanSchedule.objects.create(date=future_weekday, capacity_override=0)  # the day closed meanwhile

    response = client.post(URL, {**data, "quote_id": quote_id, "intent": "create"})

    assert response.status_code == 200
    errors = " ".join(response.context["form"].non_field_errors())
    assert "cannot be booked" in errors and "Nearest dates that can be booked:" in errors
    assert response.context["form"].errors.get("pickup_date")
    assert Booking.objects.count() == 0 and not CustomerProfile.objects.filter(email="pat.caller@example.com").exists()


def test_invalid_details_are_field_errors(role_client, form_data):
    client = role_client("operations")
    response = client.post(URL, {**form_data(pickup_address_zip_code="ABCDE", customer_email="not-an-email"),
                                 "intent": "preview"})
    form = response.context["form"]
    assert response.status_code == 200 and "customer_email" in form.errors
    assert Booking.objects.count() == 0

    response = client.post(URL, {**form_data(pickup_address_zip_code="ABCDE"), "intent": "preview"})
    assert "pickup_address_zip_code" in response.context["form"].errors  # core's address rule, on its input


def test_details_changed_after_the_preview_need_a_new_preview(role_client, form_data):
    client = role_client("operations")
    _page, quote_id = _preview(client, form_data())

    response = client.post(URL, {**form_data(package="full"), "quote_id": quote_id, "intent": "create"})

    assert response.status_code == 200 and Booking.objects.count() == 0
    assert "changed since the preview" in " ".join(response.context["form"].non_field_errors())
    assert response.context["form"].data["quote_id"] != quote_id  # the new price is shown, with its quote


@pytest.mark.parametrize("role", ["finance", "nogroup"])
def test_finance_cannot_take_a_booking(role_client, form_data, role):
    client = role_client(role)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {**form_data(), "intent": "preview"}).status_code == 403
    assert Booking.objects.count() == 0


def test_the_changelist_offers_new_booking_to_operations_not_finance(role_client):
    page = role_client("operations").get(reverse("admin:core_booking_changelist")).content.decode()
    assert "New booking (phone)" in page
    page = role_client("finance").get(reverse("admin:core_booking_changelist")).content.decode()
    assert "New booking (phone)" not in page


def test_query_budgets(role_client, form_data, django_assert_max_num_queries):
    """Measured: page 7 (session, user, permissions, packages, items), preview 10 (+ availability, buildings,
    the quote insert), the payment step 7."""
    client = role_client("operations")
    client.get(URL)  # session, user and catalog reads warmed like any other page view
    with django_assert_max_num_queries(7):
        assert client.get(URL).status_code == 200
    data = form_data()
    _preview(client, data)
    with django_assert_max_num_queries(10):
        _page, quote_id = _preview(client, data)
    client.post(URL, {**data, "quote_id": quote_id, "intent": "create"})
    booking = Booking.objects.get()
    with django_assert_max_num_queries(7):
        assert client.get(reverse("admin:core_booking_phone_done", args=[booking.pk])).status_code == 200


def test_payment_link_reaches_the_customer_and_opens_the_booking(role_client, form_data, client, postmark,  # noqa: F811
                                                                 email_templates,  # noqa: F811
                                                                 django_capture_on_commit_callbacks):
    staff = role_client("operations")
    data = form_data()
    _page, quote_id = _preview(staff, data)
    staff.post(URL, {**data, "quote_id": quote_id, "intent": "create"})
    booking = Booking.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(reverse("admin:core_booking_action", args=["pay_link"]),
                              {"ids": [str(booking.pk)], "confirm": "yes", "channels": ["email"]})

    assert response.status_code == 302
    [message] = postmark.messages
    assert message["To"] == "pat.caller@example.com" and f"${booking.total_price}" in message["TextBody"]
    link = PAY.search(message["TextBody"])
    assert link and link["id"] == str(booking.pk)
    staff.logout()
    assert client.get(f"/api/v1/bookings/{booking.pk}/", HTTP_X_BOOKING_TOKEN=link["token"]).status_code == 200
    stored = serializers.serialize("json", [*Notification.objects.all(), *Notification.history.all()])
    assert "{{ pay_url }}" in stored and link["token"] not in stored
    assert PaymentAudit.objects.filter(booking=booking, action="payment_link_sent").exists()


def test_payment_link_is_refused_for_a_paid_booking(role_client, make_booking):
    client = role_client("operations")
    booking = make_booking(BookingStatus.PAID)
    response = client.get(reverse("admin:core_booking_action", args=["pay_link"]), {"ids": str(booking.pk)})
    assert 'data-testid="action-disabled"' in response.content.decode()
    response = client.post(reverse("admin:core_booking_action", args=["pay_link"]),
                           {"ids": [str(booking.pk)], "confirm": "yes", "channels": ["email"]})
    assert Notification.objects.count() == 0


def test_a_balance_due_booking_may_get_a_payment_link(make_booking):
    booking = make_booking(BookingStatus.PAID)
    assert payment_link_refusal(booking)
    booking.payment_status = "balance_due"  # a reschedule that costs more (the value lands with reschedule)
    assert payment_link_refusal(booking) == ""
    booking.payment_status = PaymentState.PAID
    booking.status = BookingStatus.PENDING
    booking.hold_expires_at = timezone.now() - dt.timedelta(minutes=1)
    assert "hold has expired" in payment_link_refusal(booking)


def test_operations_records_the_offline_payment_and_the_booking_is_paid(role_client, form_data):
    client = role_client("operations")
    data = form_data()
    _page, quote_id = _preview(client, data)
    client.post(URL, {**data, "quote_id": quote_id, "intent": "create"})
    booking = Booking.objects.get()

    response = client.post(reverse("admin:core_booking_action", args=["offline_payment"]),
                           {"ids": [str(booking.pk)], "confirm": "yes", "amount": str(booking.total_price),
                            "method": "other", "reference": "terminal 0042"})

    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.PAID and booking.payment_status == PaymentState.PAID


def test_a_double_submitted_create_makes_one_booking(role_client, form_data):
    client = role_client("operations")
    data = form_data()
    _page, quote_id = _preview(client, data)

    first = client.post(URL, {**data, "quote_id": quote_id, "intent": "create"})
    second = client.post(URL, {**data, "quote_id": quote_id, "intent": "create"})

    booking = Booking.objects.get()  # one booking
    assert first["Location"] == second["Location"] == reverse("admin:core_booking_phone_done", args=[booking.pk])
    assert "already created" in client.get(second["Location"]).content.decode()
    # the same price for another customer is refused, with a fresh preview to create from
    third = client.post(URL, {**form_data(customer_email="other@example.com"), "quote_id": quote_id,
                              "intent": "create"})
    assert third.status_code == 200 and Booking.objects.count() == 1
    assert "already used for another booking" in " ".join(third.context["form"].non_field_errors())


def test_the_booking_menu_offers_a_payment_link_only_while_money_is_owed(role_client, make_booking):
    client = role_client("operations")
    pending, paid = make_booking(), make_booking(BookingStatus.PAID)

    page = client.get(reverse("admin:core_booking_change", args=[pending.pk])).content.decode()
    assert f"/{pending.pk}/detail-pay-link/" in page
    page = client.get(reverse("admin:core_booking_change", args=[paid.pk])).content.decode()
    assert f"/{paid.pk}/detail-pay-link/" not in page
