import datetime as dt

import pytest
from django.utils import timezone

from core.bookings.models import IdempotencyRecord
from core.bookings.tasks import purge_idempotency_records, purge_quotes


@pytest.mark.django_db
def test_hourly_purge_forgets_day_old_idempotency_keys_and_is_idempotent():
    IdempotencyRecord.objects.create(scope="bookings.create", key="old", request_hash="x")
    IdempotencyRecord.objects.create(scope="bookings.create", key="fresh", request_hash="x")
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - dt.timedelta(hours=25))
    assert purge_idempotency_records.call_local() == 1
    assert purge_idempotency_records.call_local() == 0
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]


@pytest.mark.django_db
def test_hourly_quote_purge_keeps_fresh_quotes_and_those_a_booking_was_made_from(make_request):
    from core.bookings.models import Booking, Quote
    from core.bookings.services import booking_create, quote_create, quote_purge

    # given a day-old quote nobody booked, a day-old quote somebody booked, and a fresh one
    unused = quote_create(request=make_request(customer=None))
    booked = quote_create(request=make_request(customer=None, item_count=11))
    booking, _ = booking_create(request=make_request(item_count=11, quote_id=str(booked.pk)))
    fresh = quote_create(request=make_request(customer=None, item_count=12))
    Quote.objects.filter(pk__in=[unused.pk, booked.pk]).update(
        expires_at=timezone.now() - dt.timedelta(days=1, minutes=1))
    # when the purge runs (in small batches, twice)
    assert quote_purge(batch_size=1) == 1
    assert purge_quotes.call_local() == 0
    # then only the unused one is gone, and the booking still points at its quote
    assert set(Quote.objects.values_list("pk", flat=True)) == {booked.pk, fresh.pk}
    assert Booking.objects.get(pk=booking.pk).quote_id == booked.pk
