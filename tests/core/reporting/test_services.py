import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from core.bookings.models import BookingStatus
from core.bookings.services import booking_create, booking_transition
from core.reporting.models import DailyMetrics
from core.reporting.selectors import revenue_by_day
from core.reporting.services import daily_metrics_compute
from core.reporting.tasks import compute_daily_metrics


@pytest.mark.django_db
def test_daily_metrics_compute_is_an_idempotent_upsert(make_request):
    booking, _ = booking_create(request=make_request())
    booking = booking_transition(booking=booking, to_status=BookingStatus.PAID)
    booking.payment_status = "paid"
    booking.save(update_fields=["payment_status"])
    cancelled, _ = booking_create(request=make_request(booking_type="standard", item_count=3))
    booking_transition(booking=cancelled, to_status=BookingStatus.CANCELLED, reason="test")
    today = timezone.localdate()

    first = daily_metrics_compute(day=today)
    second = daily_metrics_compute(day=today)

    assert DailyMetrics.objects.count() == 1 and first.pk == second.pk
    assert second.bookings_created == 2
    assert second.bookings_by_type == {"mini_move": 1, "standard": 1}
    assert second.revenue == booking.total_price
    assert second.cancellations == 1
    assert second.refunds == Decimal("0.00")


@pytest.mark.django_db
def test_periodic_task_refreshes_today_and_yesterday(db):
    result = compute_daily_metrics.call_local()
    today = timezone.localdate()
    assert result == [(today - dt.timedelta(days=1)).isoformat(), today.isoformat()]
    assert set(DailyMetrics.objects.values_list("date", flat=True)) == {today, today - dt.timedelta(days=1)}


@pytest.mark.django_db
def test_revenue_by_day_prefers_the_snapshot_for_finished_days(db):
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    DailyMetrics.objects.create(date=yesterday, revenue=Decimal("123.45"))
    series = dict(revenue_by_day(days=3))
    assert series[yesterday] == Decimal("123.45")
    assert series[timezone.localdate()] == Decimal("0.00")
