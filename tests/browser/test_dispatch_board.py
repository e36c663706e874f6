"""The dispatch board in a real browser (local dispatch mode): dispatch a paid booking, move its pickup on."""

import pytest

from core.bookings.models import Booking, BookingStatus
from core.logistics.models import DeliveryTask, LegKind, LegStatus
from tests.browser.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dispatch_now_and_move_a_leg_from_the_board(live_server, page, login, make_booking):
    from core.payments.services import payment_record_offline

    booking = make_booking()
    user = login("admin")
    payment_record_offline(booking=booking, amount=booking.total_price, method="cash", reference="", actor=user)
    day = booking.pickup_date.isoformat()

    page.goto(f"{live_server.url}/admin/core/deliverytask/board/?day={day}")
    page.get_by_test_id("local-mode").wait_for()
    page.get_by_role("button", name="Dispatch now").click()
    page.get_by_text("dispatch queued").wait_for()
    legs = page.get_by_test_id("legs")
    assert legs.locator("tbody tr").count() == 2
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.SCHEDULED

    pickup_row = legs.locator("tbody tr").filter(has_text="Pickup")
    pickup_row.locator("select[name=to]").select_option("in_progress")
    pickup_row.locator("input[name=driver]").fill("Jo Park")
    pickup_row.get_by_role("button", name="Move").click()
    page.get_by_text("Jo Park").wait_for()
    shot(page, "dispatch_board_local")

    pickup = DeliveryTask.objects.get(booking=booking, kind=LegKind.PICKUP)
    assert pickup.status == LegStatus.IN_PROGRESS and pickup.driver_name == "Jo Park"
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.IN_PROGRESS
