"""The booking list (the desk's busiest page) stays light: bytes per row are bounded, every row's menu links to
its own booking, and the actions left out of the row menu are still on the booking's page and in bulk."""

import datetime as dt
import re
import time

import pytest
from django.urls import reverse

from core.bookings.models import BookingStatus
from ops_console.admin.bookings.entries import ROW_ACTIONS

# Measured (PostgreSQL, Operations user): 18,990 bytes a row with the 14-item row menu drawn per row, 7,146 with
# the short menu rendered once per page. The bound leaves room for a longer name or a new column, not for the
# old per-row menu.
MAX_BYTES_PER_ROW = 8_500
ROW_MENU = [name.replace("_", "-") for name in ROW_ACTIONS] + ["upload-coi"]


def _get(client, url):
    started = time.perf_counter()
    response = client.get(url)
    return response, (time.perf_counter() - started) * 1000


@pytest.mark.django_db
def test_booking_list_bytes_per_row_are_bounded_and_each_row_menu_is_its_own(role_client, make_booking,
                                                                             future_weekday):
    client = role_client("operations")
    url = reverse("admin:core_booking_changelist") + "?when=all"
    first = make_booking(BookingStatus.PAID)
    client.get(url)  # warm the template cache
    small, _ = _get(client, url)
    bookings = [first] + [make_booking(BookingStatus.PAID, pickup_date=future_weekday + dt.timedelta(days=7 * (i // 5)))
                          for i in range(10)]
    large, ms = _get(client, url)
    html = large.content.decode()
    per_row = (len(large.content) - len(small.content)) / (len(bookings) - 1)
    print(f"\nbooking list: {len(bookings)} rows, {len(large.content)} bytes, {per_row:.0f} bytes/row, {ms:.1f} ms")
    assert html.count('class="data-row') == len(bookings)
    assert per_row <= MAX_BYTES_PER_ROW, per_row

    # each row's menu: the short list, each link to that row's booking, and its own dropdown state
    for booking in bookings:
        links = re.findall(rf'href="/admin/core/booking/{booking.pk}/row-([a-z-]+)/"', html)
        assert links == ROW_MENU, (booking.booking_number, links)
        assert f"openActionsId{booking.pk.hex}" in html
    assert "00000000-0000-4000-8000-000000000000" not in html and "0000000000004000800000000000000" not in html
    # the rest: bulk actions on the list, header menus on the booking's page
    for bulk in ("bulk_schedule", "bulk_start", "bulk_complete", "bulk_cancel", "bulk_resend"):
        assert f'value="{bulk}"' in html, bulk
    page = client.get(reverse("admin:core_booking_change", args=[first.pk])).content.decode()
    for detail in ("detail-schedule", "detail-edit", "detail-resend"):
        assert f"/{detail}/" in page, detail


@pytest.mark.django_db
def test_row_menu_follows_the_users_permissions(role_client, make_booking):
    """Finance may not operate bookings: its row menu has no reschedule or cancel, the page draws it for them."""
    booking = make_booking(BookingStatus.PAID)
    html = role_client("finance").get(reverse("admin:core_booking_changelist") + "?when=all").content.decode()
    links = re.findall(rf'href="/admin/core/booking/{booking.pk}/row-([a-z-]+)/"', html)
    assert "reschedule" not in links and "cancel-refund" not in links
