"""Reporting: the daily metrics snapshots (written by the hourly job)."""

from django.contrib import admin
from unfold.decorators import display

from core import models as m
from ops_console.base import ReadOnlyOpsModelAdmin
from ops_console.export_resources import DailyMetricsResource
from ops_console.formatting import money


@admin.register(m.DailyMetrics)
class DailyMetricsAdmin(ReadOnlyOpsModelAdmin):
    resource_classes = [DailyMetricsResource]
    list_display = ["date", "bookings_created", "paid_bookings", "revenue_display", "refunds_display", "pickups",
                    "cancellations", "onfleet_tasks_created", "deliveries_completed", "deliveries_failed",
                    "average_delivery_minutes", "computed_at"]
    ordering = ["-date"]

    @display(description="Revenue", ordering="revenue")
    def revenue_display(self, obj):
        return money(obj.revenue)

    @display(description="Refunds", ordering="refunds")
    def refunds_display(self, obj):
        return money(obj.refunds)
