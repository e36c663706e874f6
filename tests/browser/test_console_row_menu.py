"""The booking list's row menu (rendered once per page and copied per row) opens for its own row only and leads
to that row's booking."""

import pytest

from core.bookings.models import BookingStatus
from tests.browser.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_rows_menu_opens_alone_and_leads_to_its_booking(live_server, page, login, make_booking):
    first, second = make_booking(BookingStatus.PAID), make_booking(BookingStatus.PAID)
    login("operations")
    page.goto(f"{live_server.url}/admin/core/booking/?when=all")
    row = page.locator("#result_list tr.data-row", has_text=second.booking_number)
    row.locator("span", has_text="more_horiz").click()
    menu = page.locator("nav", has=page.locator(f'a[href*="/{second.pk}/row-note/"]'))
    menu.wait_for(state="visible")
    assert [t.strip() for t in menu.locator("a").all_inner_texts()] == [
        "mail\nSend message", "link\nSend payment link", "event_repeat\nReschedule",
        "currency_exchange\nCancel with refund", "sticky_note_2\nAdd staff note", "upload_file\nUpload a COI"]
    assert not page.locator("nav", has=page.locator(f'a[href*="/{first.pk}/row-note/"]')).is_visible()
    shot(page, "booking_list_row_menu")
    menu.get_by_text("Add staff note").click()
    page.wait_for_url("**/admin/core/booking/action/note/**")
    assert str(second.pk) in page.url and str(first.pk) not in page.url
    assert page.get_by_label("Staff note").is_visible()
