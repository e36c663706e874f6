"""A phone booking in a real browser: Operations fills the form, sees the price, creates the booking, records the
money taken on the card terminal, and finds the booking paid on the booking desk."""

import re

import pytest

from core.bookings.models import Booking, BookingSource, BookingStatus, PaymentState
from tests.browser.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operations_takes_a_phone_booking_and_an_offline_payment(live_server, page, login, catalog, future_weekday):
    login("operations")
    page.goto(f"{live_server.url}/admin/core/booking/")
    page.get_by_role("link", name="New booking (phone)").click()
    page.wait_for_url(re.compile(r"/admin/core/booking/phone/$"))

    fields = {
        "customer_name": "Robin Phone", "customer_email": "robin.phone@example.com",
        "customer_phone": "+12125550177",
        "pickup_address_line1": "245 East 72nd Street", "pickup_address_city": "New York",
        "pickup_address_zip_code": "10021",
        "dropoff_address_line1": "27 Further Lane", "dropoff_address_city": "East Hampton",
        "dropoff_address_zip_code": "11937",
        "pickup_date": future_weekday.isoformat(), "notes": "Called in, pays by card on the terminal",
    }
    for name, value in fields.items():
        page.fill(f"[name={name}]", value)
    page.select_option("select[name=booking_type]", "mini_move")
    page.select_option("select[name=package]", "petite")
    page.select_option("select[name=pickup_window]", "morning")
    page.select_option("select[name=specialty_item_1]", "peloton")
    page.click("button[name=intent][value=preview]")

    total = page.get_by_test_id("phone-booking-total")
    total.wait_for()
    shown_total = total.inner_text()
    assert re.fullmatch(r"\$[\d,]+\.\d\d", shown_total)
    assert "Bookable" in page.get_by_test_id("phone-booking-bookable").inner_text()
    shot(page, "phone_booking_preview")
    assert Booking.objects.count() == 0

    page.get_by_test_id("phone-booking-create").click()
    page.get_by_test_id("phone-booked").wait_for()
    booking = Booking.objects.select_related("customer").get()
    assert booking.source == BookingSource.PHONE and f"${booking.total_price:,}" == shown_total
    assert booking.booking_number in page.content()
    shot(page, "phone_booking_created")

    page.get_by_test_id("phone-booked-offline").click()
    page.get_by_test_id("action-objects").wait_for()
    assert page.input_value("[name=amount]") == str(booking.total_price)
    page.select_option("select[name=method]", "other")
    page.fill("[name=reference]", "terminal 0042")
    shot(page, "phone_booking_offline_payment")
    page.locator("#ops-action button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/admin/core/booking/{booking.pk}/change/"))
    assert "payment of" in page.content() and "recorded" in page.content()

    page.goto(f"{live_server.url}/admin/core/booking/?q={booking.booking_number}")
    row = page.locator("#result_list tbody tr").first
    text = row.inner_text().upper()  # the badges are upper-cased by CSS
    assert booking.booking_number in text and text.count("PAID") == 2 and "PENDING" not in text  # status, payment
    shot(page, "phone_booking_paid_on_desk")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.PAID and booking.payment_status == PaymentState.PAID
