"""The ops console in a real browser: roles, dashboard, booking desk, actions, history, import and export."""

import re
from pathlib import Path

import pytest

from core.bookings.models import Booking, BookingStatus
from tests.browser.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("role", ["operations", "finance", "admin"])
def test_each_role_logs_in_and_sees_its_dashboard(live_server, page, login, make_booking, role):
    make_booking(BookingStatus.PAID)
    make_booking()
    login(role)
    dashboard = page.get_by_test_id("dashboard")
    dashboard.wait_for()
    values = page.get_by_test_id("kpi-value").all_inner_texts()
    assert "2" in values  # bookings today
    page.get_by_text("Upcoming pickups, next 7 days").wait_for()
    sidebar = page.locator("#nav-sidebar-inner, nav").first.inner_text()
    assert "Bookings" in sidebar
    assert (page.locator('a[href="/admin/core/payment/"]').count() > 0) == (role != "operations")
    assert (page.locator('a[href="/admin/core/user/"]').count() > 0) == (role == "admin")
    shot(page, f"dashboard_{role}")


def test_filter_search_open_booking_and_run_an_action(live_server, page, login, make_booking, future_weekday):
    import datetime as dt

    target = make_booking(BookingStatus.PAID)
    make_booking(BookingStatus.PAID, pickup_date=future_weekday + dt.timedelta(days=1))
    make_booking()
    login("operations")
    # filter: status = paid (the filter panel's query string)
    page.goto(f"{live_server.url}/admin/core/booking/?status__exact=paid")
    assert page.locator("#result_list tbody tr").count() == 2
    # search by the customer's email, through the search box
    page.goto(f"{live_server.url}/admin/core/booking/")
    page.fill("input[name=q]", target.customer.email)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"\?q="))
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1 and target.booking_number in rows.first.inner_text()
    shot(page, "bookings_search")
    # open it
    rows.first.get_by_role("link", name=target.booking_number).click()
    page.get_by_text("Price breakdown (as sold)", exact=False).first.wait_for(state="attached")
    shot(page, "booking_change")
    # run "Mark scheduled" through its confirmation page
    page.goto(f"{live_server.url}/admin/core/booking/{target.pk}/detail-schedule/")
    page.get_by_test_id("action-objects").wait_for()
    shot(page, "action_confirm")
    page.locator("#ops-action button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/admin/core/booking/{target.pk}/change/"))
    assert f"{target.booking_number}: now scheduled." in page.content()
    shot(page, "action_done")
    assert Booking.objects.get(pk=target.pk).status == BookingStatus.SCHEDULED
    # and the history shows who did it and from where
    page.goto(f"{live_server.url}/admin/core/booking/{target.pk}/history/")
    history = page.locator("#change-history").inner_text()
    assert "operations_user" in history and "127.0.0.1" in history
    shot(page, "booking_history")
    page.goto(f"{live_server.url}/admin/core/booking/{target.pk}/activity/")
    assert "Paid → Scheduled" in page.get_by_test_id("activity").inner_text()


def test_refused_action_shows_the_reason(live_server, page, login, make_booking):
    pending = make_booking()
    login("operations")
    # the booking's menu does not offer it
    page.goto(f"{live_server.url}/admin/core/booking/{pending.pk}/change/")
    assert page.locator(f'a[href$="/{pending.pk}/detail-complete/"]').count() == 0
    # and a stale link lands on a page that greys it out with the reason
    page.goto(f"{live_server.url}/admin/core/booking/{pending.pk}/detail-complete/")
    assert page.get_by_test_id("action-disabled").is_disabled()
    assert "a pending payment booking cannot become completed." in page.get_by_test_id("action-objects").inner_text()
    shot(page, "action_refused")
    assert Booking.objects.get(pk=pending.pk).status == BookingStatus.PENDING


def test_refund_error_is_shown_on_the_refund_form(live_server, page, login, make_booking):
    from core.payments.services import payment_record_offline

    booking = make_booking()
    admin = login("admin")
    payment_record_offline(booking=booking, amount=booking.total_price, method="cash", reference="R-1", actor=admin)
    page.goto(f"{live_server.url}/admin/core/booking/{booking.pk}/detail-refund/")
    page.fill("input[name=amount]", str(booking.total_price + 100))
    page.locator("#ops-action button[type=submit]").click()
    page.wait_for_load_state()
    assert "/action/refund/" in page.url  # still on the form
    assert "can still be refunded" in page.locator("#ops-action").inner_text()
    assert page.locator("input[name=amount]").input_value() == str(booking.total_price + 100)
    shot(page, "refund_refused")


def test_customer_import_with_a_bad_row_shows_the_preview_error(live_server, page, login, tmp_path):
    login("admin")
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text("name,email,phone\nGood Person,good@example.com,+12125550100\n"
                        "Bad Person,not-an-email,+12125550101\n")
    page.goto(f"{live_server.url}/admin/core/customerprofile/import/")
    page.set_input_files("input[type=file]", str(csv_file))
    fmt = page.locator("select[name=format]")
    if fmt.count():
        fmt.select_option(label="csv")
    page.locator("form button[type=submit], form input[type=submit]").last.click()
    page.wait_for_load_state()
    shot(page, "import_preview")
    content = page.content()
    assert "not-an-email" in content
    assert "Some rows failed to validate" in content and "Enter a valid email address" in content


def test_export_bookings_as_csv(live_server, page, login, make_booking):
    booking = make_booking(BookingStatus.PAID)
    login("finance")
    page.goto(f"{live_server.url}/admin/core/booking/export/")
    fmt = page.locator("select[name=format]")
    if fmt.count():
        fmt.select_option(label="csv")
    shot(page, "export_form")
    with page.expect_download() as download_info:
        page.locator("form button[type=submit], form input[type=submit]").last.click()
    body = Path(download_info.value.path()).read_text(encoding="utf-8")
    assert body.splitlines()[0].startswith("booking_number") or "booking_number" in body.splitlines()[0].lower()
    assert booking.booking_number in body
