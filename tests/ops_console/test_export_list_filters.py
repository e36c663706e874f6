"""The list's own "Export this list" link exports exactly the rows the filtered, searched list shows."""

import csv
import datetime as dt
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from core.bookings.models import BookingStatus
from core.bookings.services import booking_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def bookings(make_booking, make_request, future_weekday):
    today = timezone.localdate()
    past, _ = booking_create(request=make_request(pickup_date=today - dt.timedelta(days=20)),
                             now=timezone.now() - dt.timedelta(days=30))
    past_done, _ = booking_create(request=make_request(pickup_date=today - dt.timedelta(days=13)),
                                  now=timezone.now() - dt.timedelta(days=30))
    for step in (BookingStatus.PAID, BookingStatus.SCHEDULED, BookingStatus.IN_PROGRESS, BookingStatus.COMPLETED):
        from core.bookings.services import booking_transition
        past_done = booking_transition(booking=past_done, to_status=step)
    upcoming = [make_booking(BookingStatus.PAID), make_booking(pickup_date=future_weekday + dt.timedelta(days=7))]
    return {"past": past, "past_done": past_done, "upcoming": upcoming}


def _export_link(client, query: str) -> str:
    page = client.get(reverse("admin:core_booking_changelist") + query).content.decode()
    match = re.search(r'href="([^"]*export_all_streamed[^"]*)"', page)
    assert match, "the list offers no streamed export"
    return match.group(1).replace("&amp;", "&")


def _listed(client, query: str) -> list[str]:
    context = client.get(reverse("admin:core_booking_changelist") + query).context
    return [b.booking_number for b in context["cl"].result_list]


def _exported(client, link: str) -> list[str]:
    response = client.get(link, follow=True)
    body = b"".join(response.streaming_content).decode()
    return [row[0] for row in list(csv.reader(io.StringIO(body)))[1:]]


@pytest.mark.parametrize("query", ["", "?when=all", "?when=past&status__exact=completed", "?when=past"])
def test_export_link_exports_what_the_filtered_list_shows(role_client, bookings, query):
    client = role_client("finance")
    link = _export_link(client, query)
    assert link.endswith(query)
    assert _exported(client, link) == _listed(client, query)


def test_export_link_keeps_the_search(role_client, bookings):
    client = role_client("finance")
    target = bookings["upcoming"][1]
    query = f"?when=all&q={target.booking_number}"
    link = _export_link(client, query)
    assert _exported(client, link) == [target.booking_number] == _listed(client, query)


def test_filters_change_what_is_exported(role_client, bookings):
    client = role_client("finance")
    done = _exported(client, _export_link(client, "?when=past&status__exact=completed"))
    assert done == [bookings["past_done"].booking_number]
    everything = _exported(client, _export_link(client, "?when=all"))
    assert len(everything) == 4
