"""Catalog pages of the console: the price simulator and the van schedule."""

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from import_export.formats.base_formats import CSV

from core.catalog.models import VanSchedule
from core.catalog.services import van_schedule_save
from core.common.audit import acting_as
from ops_console.resources import VanScheduleResource
from tests.concurrency import in_background, wait_until_another_session_waits_on_a_lock
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("query", "field"), [
    ({"booking_type": "mini_move", "package": "full", "item_count": "501"}, "item_count"),
    ({"booking_type": "standard", "item_count": "3", "specialty_item_1": "peloton", "specialty_qty_1": "21"},
     "specialty_items.0.quantity"),
    ({"booking_type": "specialty", "item_count": "500", "specialty_item_1": "surfboard"}, "item_count"),
])
def test_the_price_simulator_applies_core_limits(role_client, catalog, future_weekday, query, field):
    response = role_client("operations").get(reverse("admin:core_price_simulator"),
                                             {"pickup_date": future_weekday.isoformat(), **query})
    assert response.status_code == 200
    assert response.context["breakdown"] is None
    assert field in response.context["error"].fields
    assert b"Cannot be priced" in response.content


@pytest.fixture
def two_bookings(make_request, future_weekday):
    from core.bookings.services import booking_create

    for _ in range(2):
        booking_create(request=make_request())


def test_the_van_schedule_form_saves_through_the_service_with_history(role_client, two_bookings, future_weekday):
    client = role_client("operations")
    form = {"date": future_weekday.isoformat(), "capacity_override": "1", "specialty_items_available": "on",
            "is_active": "on", "notes": ""}
    refused = client.post(reverse("admin:core_vanschedule_add"), form)
    assert refused.status_code == 200
    assert "capacity_override" in refused.context["adminform"].form.errors
    saved = client.post(reverse("admin:core_vanschedule_add"), {**form, "capacity_override": "2"})
    assert saved.status_code == 302
    schedule = VanSchedule.objects.get(date=future_weekday)
    assert VanSchedule.history.get(id=schedule.pk).history_user == client.user
    # switching it off would fall back to a default capacity below the bookings
    settings_default = {"capacity_override": "2", "specialty_items_available": "on", "notes": "",
                        "date": future_weekday.isoformat()}
    with override_settings(TOTETAXI={**settings.TOTETAXI, "DEFAULT_DAILY_CAPACITY": 1}):
        off = client.post(reverse("admin:core_vanschedule_change", args=[schedule.pk]), settings_default)
    assert off.status_code == 200 and off.context["adminform"].form.errors
    assert VanSchedule.objects.get(pk=schedule.pk).is_active


def test_the_van_schedule_import_saves_through_the_service(two_bookings, future_weekday):
    later = future_weekday + dt.timedelta(days=1)
    text = (f"date,capacity_override,specialty_items_available,surcharge_override,notes,is_active\n"
            f"{future_weekday.isoformat()},1,yes,,too few,yes\n{later.isoformat()},0,no,25.00,closed,yes\n")
    staff = UserFactory()
    with acting_as(staff):
        result = VanScheduleResource().import_data(CSV(encoding="utf-8").create_dataset(text), dry_run=False)
    invalid = result.invalid_rows
    assert len(invalid) == 1 and "capacity_override" in invalid[0].error_dict
    assert not result.has_errors()
    # the row that would leave two bookings on one slot is not saved; fixed, it is
    assert not VanSchedule.objects.filter(date=future_weekday).exists()
    with acting_as(staff):
        result = VanScheduleResource().import_data(CSV(encoding="utf-8").create_dataset(
            text.replace(",1,yes,,too few", ",2,yes,,two vans")), dry_run=False)
    assert not result.has_validation_errors() and not result.has_errors()
    assert VanSchedule.objects.get(date=future_weekday).capacity_override == 2
    closed = VanSchedule.objects.get(date=later)
    assert (closed.capacity_override, closed.specialty_items_available, str(closed.surcharge_override)) == (
        0, False, "25.00")
    assert VanSchedule.history.get(id=closed.pk).history_user == staff


def test_the_price_simulator_says_whether_the_request_can_be_booked(role_client, catalog, future_weekday):
    VanSchedule.objects.create(date=future_weekday, specialty_items_available=False)
    query = {"booking_type": "mini_move", "pickup_date": future_weekday.isoformat(), "package": "petite",
             "item_count": "10", "specialty_item_1": "peloton"}
    response = role_client("operations").get(reverse("admin:core_price_simulator"), query)
    assert response.context["breakdown"].total_price == Decimal("1495.00")
    assert response.context["bookability"].reasons == ("specialty_unavailable",)
    assert b"Not bookable: specialty_unavailable" in response.content
    plain = role_client("operations").get(reverse("admin:core_price_simulator"), {**query, "specialty_item_1": ""})
    assert plain.context["bookability"].bookable and b"Bookable" in plain.content


def test_deleting_a_van_schedule_goes_through_the_service(role_client, two_bookings, future_weekday):
    client = role_client("admin")
    schedule = van_schedule_save(schedule=VanSchedule(date=future_weekday, capacity_override=3))
    with override_settings(TOTETAXI={**settings.TOTETAXI, "DEFAULT_DAILY_CAPACITY": 1}):
        page = client.post(reverse("admin:core_vanschedule_delete", args=[schedule.pk]), {"post": "yes"},
                           follow=True)
        assert VanSchedule.objects.filter(pk=schedule.pk).exists()
        assert "2 booking(s) already hold a slot" in str(list(page.context["messages"])[0])
        # the changelist's bulk delete is refused as a whole too
        listed = client.post(reverse("admin:core_vanschedule_changelist"), {
            "action": "delete_selected", "_selected_action": [schedule.pk], "post": "yes"}, follow=True)
        assert VanSchedule.objects.filter(pk=schedule.pk).exists()
        assert any("already hold a slot" in str(m) for m in listed.context["messages"])
    deleted = client.post(reverse("admin:core_vanschedule_delete", args=[schedule.pk]), {"post": "yes"})
    assert deleted.status_code == 302 and not VanSchedule.objects.exists()
    assert VanSchedule.history.filter(id=schedule.pk, history_type="-").get().history_user == client.user


@pytest.mark.django_db(transaction=True)
def test_a_van_schedule_another_admin_saves_for_the_date_meanwhile_is_a_console_message(
        postgres_only, role_client, future_weekday):
    client = role_client("operations")
    form = {"date": future_weekday.isoformat(), "capacity_override": "3", "specialty_items_available": "on",
            "is_active": "on", "notes": ""}

    # when the form passes its checks while another admin's schedule for that date is saved, not committed yet
    with transaction.atomic():
        van_schedule_save(schedule=VanSchedule(date=future_weekday, capacity_override=4))
        posting = in_background(lambda: client.post(reverse("admin:core_vanschedule_add"), form, follow=True))
        wait_until_another_session_waits_on_a_lock()
    page = posting.result(timeout=30)

    # then the page says so (no 500) and the other admin's schedule is the one stored
    assert page.status_code == 200
    assert any("already has a van schedule" in str(m) for m in page.context["messages"])
    assert VanSchedule.objects.get().capacity_override == 4
