import re

import pytest

from core.bookings.models import Booking
from core.bookings.numbers import next_booking_number
from core.bookings.services import booking_create
from tests.concurrency import run_in_threads


@pytest.mark.django_db
def test_numbers_are_sequential_per_year_and_formatted():
    assert next_booking_number(2027) == "TT-2027-000001"
    assert next_booking_number(2027) == "TT-2027-000002"
    assert next_booking_number(2028) == "TT-2028-000001"


@pytest.mark.django_db
def test_created_booking_gets_a_number(make_request):
    booking, _ = booking_create(request=make_request())
    assert re.fullmatch(r"TT-\d{4}-\d{6}", booking.booking_number)


@pytest.mark.django_db(transaction=True)
def test_fifty_parallel_creates_get_unique_numbers(postgres_only, make_request, settings):
    # given capacity for everyone, on several dates so the date locks don't serialise everything
    settings.TOTETAXI = {**settings.TOTETAXI, "DEFAULT_DAILY_CAPACITY": 100}
    requests = [make_request() for _ in range(60)]

    # when 60 creates race
    numbers = run_in_threads(60, lambda i: booking_create(request=requests[i])[0].booking_number, workers=20)

    # then every one got a distinct number and the sequence has no holes
    assert len(numbers) == len(set(numbers)) == 60
    assert Booking.objects.count() == 60
    suffixes = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert suffixes == list(range(suffixes[0], suffixes[0] + 60))
