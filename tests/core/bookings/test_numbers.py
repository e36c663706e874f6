import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from core.bookings.models import Booking
from core.bookings.numbers import next_booking_number
from core.bookings.services import booking_create


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

    def create(request):
        try:
            return booking_create(request=request)[0].booking_number
        finally:
            connection.close()

    # when 60 creates race
    with ThreadPoolExecutor(max_workers=20) as pool:
        numbers = list(pool.map(create, requests))

    # then every one got a distinct number and the sequence has no holes
    assert len(numbers) == len(set(numbers)) == 60
    assert Booking.objects.count() == 60
    suffixes = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert suffixes == list(range(suffixes[0], suffixes[0] + 60))
