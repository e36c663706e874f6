"""Writes for reporting: the daily metrics snapshot the dashboard reads."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from core.reporting.models import DailyMetrics
from core.reporting.selectors import daily_figures


def daily_metrics_compute(*, day: dt.date) -> DailyMetrics:
    """Compute one New York day's figures and upsert its snapshot row (running it twice changes nothing)."""
    figures = daily_figures(day=day)
    with transaction.atomic():
        row, _created = DailyMetrics.objects.update_or_create(date=day, defaults=figures)
    return row
