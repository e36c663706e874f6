import datetime as dt

import pytest
from django.utils import timezone

from core.bookings.models import IdempotencyRecord
from core.bookings.tasks import purge_idempotency_records


@pytest.mark.django_db
def test_hourly_purge_forgets_day_old_idempotency_keys_and_is_idempotent():
    IdempotencyRecord.objects.create(scope="bookings.create", key="old", request_hash="x")
    IdempotencyRecord.objects.create(scope="bookings.create", key="fresh", request_hash="x")
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - dt.timedelta(hours=25))
    assert purge_idempotency_records.call_local() == 1
    assert purge_idempotency_records.call_local() == 0
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
