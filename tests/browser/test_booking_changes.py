"""Changing a paid booking from the desk in a real browser: reschedule (preview, confirm, the booking on its new
date, the change in its history) and cancel with refund."""

import datetime as dt
import re

import pytest

from core.bookings.models import Booking, BookingStatus
from core.payments.models import Refund
from tests.browser.conftest import shot
from tests.fakes.stripe_payments import pay_through_stripe

pytest_plugins = ["tests.fakes.stripe_fixtures", "tests.fakes.stripe_payments"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def paid_booking(stripe_on, make_booking):
    booking = make_booking()
    pay_through_stripe(stripe_on, booking)
    paid = Booking.objects.get(pk=booking.pk)
    assert paid.status == BookingStatus.PAID
    return paid


def _open_from_the_desk(page, live_server, booking, slug: str) -> None:
    """Find the booking on the desk, open it, and pick the action from its "Change" menu."""
    page.goto(f"{live_server.url}/admin/core/booking/")
    page.fill("input[name=q]", booking.booking_number)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"\?q="))
    page.locator("#result_list").get_by_role("link", name=booking.booking_number).click()
    page.wait_for_url(re.compile(rf"/admin/core/booking/{booking.pk}/change/"))
    page.locator("li[x-data] > a", has_text="Change").click()  # the "Change" menu (Alpine teleports its items)
    page.locator(f'a[href$="/{booking.pk}/detail-{slug}/"]:visible').click()
    page.get_by_test_id("booking-change").wait_for()


def test_operations_reschedules_a_paid_booking(live_server, page, login, paid_booking, future_weekday):
    new_day = future_weekday + dt.timedelta(days=7)
    login("operations")
    _open_from_the_desk(page, live_server, paid_booking, "reschedule")

    form = page.get_by_test_id("change-form")
    form.locator("input[name=pickup_date]").fill(new_day.isoformat())
    form.locator("select[name=pickup_window]").select_option("afternoon")
    form.get_by_role("button", name="Preview the change").click()
    preview = page.get_by_test_id("change-preview")
    preview.wait_for()
    assert "Preview under change policy v1" in preview.inner_text()
    assert page.get_by_test_id("change-due").inner_text() == "$0.00"
    shot(page, "reschedule_preview")
    assert Booking.objects.get(pk=paid_booking.pk).pickup_date == future_weekday  # nothing before confirming

    page.get_by_test_id("change-confirm").get_by_role("button").click()
    page.wait_for_url(re.compile(rf"/admin/core/booking/{paid_booking.pk}/change/"))
    assert f"{paid_booking.booking_number}: now on" in page.content()
    moved = Booking.objects.get(pk=paid_booking.pk)
    assert moved.pickup_date == new_day and moved.pickup_window == "afternoon"
    # the booking on its new date, on the desk
    page.goto(f"{live_server.url}/admin/core/booking/?q={paid_booking.booking_number}")
    row = page.locator("#result_list tbody tr").first.inner_text()
    assert new_day.strftime("%b") in row and str(new_day.day) in row
    # and the change in its history
    page.goto(f"{live_server.url}/admin/core/booking/{paid_booking.pk}/change/")
    page.locator("#content-main nav a", has_text=re.compile(r"^\s*Changes\s*$")).click()
    page.locator("#content-main").get_by_text("Moved to").filter(visible=True).first.wait_for()  # the tab is shown by a script
    text = page.locator("#content-main").inner_text()
    assert "Moved to" in text and "operations_user" in text
    shot(page, "reschedule_history")


def test_operations_cancels_with_the_policy_refund(live_server, page, login, paid_booking, stripe_on):
    login("operations")
    _open_from_the_desk(page, live_server, paid_booking, "cancel-refund")
    lines = page.get_by_test_id("change-lines").inner_text()
    total = f"${paid_booking.total_price:,.2f}"
    assert "Paid for this booking" in lines and page.get_by_test_id("change-refund").inner_text() == total
    shot(page, "cancel_refund_preview")

    page.get_by_test_id("change-confirm").get_by_role("button").click()
    page.wait_for_url(re.compile(rf"/admin/core/booking/{paid_booking.pk}/change/"))
    assert f"refund {total} succeeded" in page.content()
    assert Booking.objects.get(pk=paid_booking.pk).status == BookingStatus.CANCELLED
    assert Refund.objects.filter(payment__booking=paid_booking).count() == 1 and stripe_on.created_refunds == 1


def test_admin_publishes_a_change_policy_version_after_fixing_a_tier(live_server, page, login, make_booking):
    from core.catalog.policy_models import ChangePolicy

    make_booking()  # loads the catalog, version 1 with it
    login("admin")
    page.goto(f"{live_server.url}/admin/core/changepolicy/")
    page.get_by_role("link", name="Publish a new version").click()
    tiers = page.locator("textarea[name=cancellation_tiers]")
    assert "168" in tiers.input_value()  # prefilled from the active version
    tiers.fill('[{"min_hours_before": 48, "fee_type": "percent", "fee": "150"}]')
    page.locator("button[name=_save]").click()
    page.get_by_text("cancellation_tiers.0: Hours ≥ 0; fee_type percent (0–100) or fixed (dollars ≥ 0).").wait_for()
    tiers = page.locator("textarea[name=cancellation_tiers]")
    tiers.fill('[{"min_hours_before": 48, "fee_type": "percent", "fee": "0"}, '
               '{"min_hours_before": 0, "fee_type": "percent", "fee": "100"}]')
    page.locator("input[name=name]").fill("Winter policy")
    page.locator("button[name=_save]").click()
    page.get_by_text("Version 2 published").wait_for()
    assert "Winter policy" in page.locator("#result_list").inner_text()
    shot(page, "change_policy_published")
    assert ChangePolicy.objects.get(is_active=True).version == 2
