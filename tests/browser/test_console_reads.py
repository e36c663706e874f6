"""What a person sees in the console: the export of a filtered list, New York times on every tab, the email
preview rendered, the dashboard's week; and a screenshot of each role's main pages in test-artifacts/."""

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from django.utils import timezone

from core.bookings.models import BookingStatus
from core.payments.models import Payment
from ops_console.formatting import local_datetime
from tests.browser.conftest import ARTIFACTS, shot
from tests.ops_console.conftest import add_payment_and_notification

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _listed(page) -> list[str]:
    return [re.match(r"TT-\d{4}-\d{6}", text.strip()).group(0)
            for text in page.locator("#result_list tbody tr th, #result_list tbody tr td.field-booking_number")
            .all_inner_texts() if re.match(r"\s*TT-", text)]


@pytest.mark.parametrize("query", ["?when=all", "?when=past&status__exact=completed", "?when=all&q=alex1"])
def test_streamed_export_has_exactly_the_rows_the_filtered_list_shows(live_server, page, login, make_booking,
                                                                    make_request, query):
    from core.bookings.services import booking_create, booking_transition
    from core.customers.services import CustomerData

    today = timezone.localdate()
    past = [booking_create(request=make_request(pickup_date=today - dt.timedelta(days=d)),
                           now=timezone.now() - dt.timedelta(days=30))[0] for d in (10, 17)]
    for step in (BookingStatus.PAID, BookingStatus.SCHEDULED, BookingStatus.IN_PROGRESS, BookingStatus.COMPLETED):
        past[0] = booking_transition(booking=past[0], to_status=step)
    make_booking(BookingStatus.PAID)
    make_booking(customer=CustomerData(name="Alex One", email="alex1@example.com", phone="+12125550123"))
    login("finance")
    page.goto(f"{live_server.url}/admin/core/booking/{query}")
    shown = _listed(page)
    assert shown, "the filtered list shows no booking"
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export this list (CSV, streamed)").click()
    rows = list(csv.reader(io.StringIO(Path(download_info.value.path()).read_text(encoding="utf-8"))))
    assert rows[0][0] == "booking_number" and "created_at (America/New_York)" in rows[0]
    assert [r[0] for r in rows[1:]] == shown
    shot(page, f"export_list_{re.sub(r'[^a-z]+', '_', query)}")


def test_every_booking_tab_shows_new_york_time(live_server, page, login, make_booking):
    booking = make_booking(BookingStatus.PAID)
    payment, notification = add_payment_and_notification(booking)
    login("admin")
    page.goto(f"{live_server.url}/admin/core/booking/{booking.pk}/change/")
    tabs = {"Payments & refunds": [payment.created_at], "Notifications": [notification.created_at,
                                                                           notification.sent_at],
            "Status & notes": [booking.status_changes.first().created_at]}
    for tab, moments in tabs.items():
        page.locator("#content-main nav a", has_text=re.compile(rf"^\s*{re.escape(tab)}\s*$")).click()
        page.locator("#content-main").get_by_text(local_datetime(moments[0])).filter(visible=True).first.wait_for()  # shown by a script
        shown = page.locator("#content-main").inner_text()
        for moment in moments:
            assert local_datetime(moment) in shown, tab
            assert f"{moment:%Y-%m-%d %H:%M}" not in shown, tab  # not UTC, not ISO
        shot(page, f"booking_tab_{re.sub(r'[^a-z]+', '_', tab.lower())}")
    page.locator("#content-main nav a", has_text="Summary").click()
    page.locator("#content-main").get_by_text(local_datetime(booking.created_at)).filter(visible=True).first.wait_for()
    assert local_datetime(booking.created_at) in page.locator("#content-main").inner_text()
    page.goto(f"{live_server.url}/admin/core/booking/{booking.pk}/activity/")
    activity = page.get_by_test_id("activity").inner_text()
    assert "When (New York)" in activity and local_datetime(booking.created_at) in activity
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d{6}", activity)
    shot(page, "booking_activity")


def test_template_preview_renders_the_email(live_server, page, login):
    from django.core.management import call_command

    from core.notifications.models import EmailTemplate

    call_command("loaddata", "email_templates", verbosity=0)
    template = EmailTemplate.objects.get(name="booking_confirmation")
    login("admin")
    page.goto(f"{live_server.url}/admin/core/emailtemplate/{template.pk}/preview/")
    frame = page.get_by_test_id("email-frame").content_frame
    body = frame.locator("body")
    body.wait_for()
    text = body.inner_text()
    assert "Your booking is confirmed" in text and "TT-2027-000123" in text
    assert "<table" not in text and "{{" not in text  # rendered, not shown as source
    assert frame.locator("table").count() > 0
    test_data = page.locator("textarea[name=test_data]").input_value()
    assert test_data.lstrip().startswith("{") and '\\"' not in test_data  # JSON once, not a JSON string
    # a full-page screenshot leaves a sandboxed frame blank: take the frame itself too
    page.get_by_test_id("email-frame").screenshot(path=str(ARTIFACTS / "template_preview_email.png"))
    shot(page, "template_preview")


def test_dashboard_shows_the_next_seven_days_and_labelled_charts(live_server, page, login, make_booking):
    in_two = timezone.localdate() + dt.timedelta(days=2)
    make_booking(BookingStatus.PAID, pickup_date=in_two)
    make_booking(pickup_date=in_two)
    login("admin")
    table = page.get_by_test_id("upcoming-pickups")
    rows = table.locator("tbody tr")
    assert rows.count() == 7
    days = [rows.nth(i).locator("td").first.inner_text().strip() for i in range(7)]
    assert days == [f"{timezone.localdate() + dt.timedelta(days=i):%a %b %-d}" for i in range(7)]
    row = [c.strip() for c in rows.nth(2).locator("td").all_inner_texts()]
    assert row[4:] == ["1", "1", "10", "8"]  # booked, pending holds, capacity, remaining
    titles = page.evaluate("""() => [...document.querySelectorAll('canvas.chart')].map(c => {
        const chart = Chart.getChart(c);
        return [chart.options.scales.x.title.text, chart.options.scales.y.title.text,
                chart.scales.y.ticks.length > 1];
    })""")
    assert ["Day (New York)", "Revenue (USD)", True] in titles and ["Service type", "Bookings", True] in titles
    shot(page, "dashboard_week")


MAIN_PAGES = {
    "admin": ["/admin/", "/admin/core/booking/", "{booking}", "/admin/core/user/", "/admin/core/emailtemplate/",
              "/admin/core/quote/"],
    "operations": ["/admin/", "/admin/core/booking/", "{booking}", "{activity}", "/admin/core/notification/",
                   "/admin/core/customerprofile/"],
    "finance": ["/admin/", "/admin/core/payment/", "/admin/core/refund/", "/admin/core/paymentaudit/",
                "/admin/core/dailymetrics/", "/admin/core/booking/"],
}


@pytest.mark.parametrize("role", list(MAIN_PAGES))
def test_screenshots_of_each_roles_main_pages(live_server, page, login, make_booking, role):
    from core.payments.models import PaymentAudit, Refund

    booking = make_booking(BookingStatus.SCHEDULED)
    make_booking(BookingStatus.PAID)
    make_booking()
    payment = Payment.objects.create(booking=booking, stripe_payment_intent_id="pi_shots", amount_cents=249000,
                                     refunded_cents=2500, status="succeeded")
    Refund.objects.create(payment=payment, amount_cents=2500, reason="requested_by_customer", status="succeeded")
    PaymentAudit.objects.create(payment=payment, booking=booking, action="intent_created")
    login(role)
    for path in MAIN_PAGES[role]:
        path = path.format(booking=f"/admin/core/booking/{booking.pk}/change/",
                           activity=f"/admin/core/booking/{booking.pk}/activity/")
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, (role, path, response.status)
        content = page.content()
        assert "object (" not in content and "Traceback" not in content, (role, path)
        name = re.sub(r"[^a-z0-9]+", "_", path.replace(str(booking.pk), "booking")).strip("_") or "dashboard"
        shot(page, f"{role}_{name}")
