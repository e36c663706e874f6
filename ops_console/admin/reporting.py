"""Reporting: the daily metrics snapshots (written by the hourly job)."""

from django.contrib import admin

from core import models as m
from ops_console.base import ReadOnlyOpsModelAdmin
from ops_console.export_resources import DailyMetricsResource


@admin.register(m.DailyMetrics)
class DailyMetricsAdmin(ReadOnlyOpsModelAdmin):
    resource_classes = [DailyMetricsResource]
    list_display = ["date", "bookings_created", "revenue", "refunds", "pickups", "cancellations", "onfleet_tasks_created",
                    "deliveries_completed", "deliveries_failed", "average_delivery_minutes", "computed_at"]
    ordering = ["-date"]
