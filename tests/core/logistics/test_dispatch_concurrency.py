"""Dispatch under concurrency (PostgreSQL): the payment's job, the sweep and staff's "dispatch now" at once."""

import pytest

from core.bookings.services import booking_create
from core.logistics.dispatch import dispatch_prepare
from core.logistics.models import DeliveryTask, LegKind
from tests.concurrency import run_in_threads
from tests.core.logistics.conftest import legs_of


@pytest.mark.django_db(transaction=True)
def test_preparing_one_booking_at_once_makes_each_leg_once_and_fails_no_caller(postgres_only, settings, make_request,
                                                                               pay, staff):
    """Every caller finds no leg yet and inserts one; the losers of the insert must take the winner's leg.

    Several rounds, because it only goes wrong when two callers look before either has inserted.
    """
    settings.ONFLEET_API_KEY = ""  # local mode: paying creates no legs, so the callers below find none
    for _round in range(3):
        booking, _token = booking_create(request=make_request())
        booking = pay(booking)
        assert not legs_of(booking)

        results = run_in_threads(4, lambda _i, b=booking: [leg.pk for leg in dispatch_prepare(booking=b, actor=staff)])

        legs = legs_of(booking)
        assert sorted(legs) == sorted([LegKind.PICKUP, LegKind.DROPOFF])
        assert all(ids == [legs[LegKind.PICKUP].pk, legs[LegKind.DROPOFF].pk] for ids in results), results
        assert all(leg.dispatch_pending for leg in DeliveryTask.objects.filter(booking=booking))
