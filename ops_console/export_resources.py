"""Export-only resources for the console's remaining lists: staff users, refunds, daily metrics.

Every console export goes through a resource that lists its columns (OpsModelAdmin refuses an export
without one): import-export's default resource exports every model field, a user's password hash included.
"""

from __future__ import annotations

from import_export import fields, widgets

from core import models as m
from ops_console.resources import (
    CentsAsDollarsWidget,
    ExportOnlyResource,
    IsoDateTimeWidget,
    IsoDateWidget,
    MoneyWidget,
)


def _column(name: str, attribute: str | None = None, **kwargs) -> fields.Field:
    return fields.Field(attribute=attribute or name, column_name=name, **kwargs)


class UserResource(ExportOnlyResource):
    """Who has a console account and which role; never the password hash."""

    username = _column("username")
    email = _column("email")
    first_name = _column("first_name")
    last_name = _column("last_name")
    role = _column("role")
    is_active = _column("is_active", widget=widgets.BooleanWidget())
    is_staff = _column("is_staff", widget=widgets.BooleanWidget())
    last_login = _column("last_login", widget=IsoDateTimeWidget())
    date_joined = _column("date_joined", widget=IsoDateTimeWidget())

    class Meta:
        model = m.User
        fields = ("username", "email", "first_name", "last_name", "role", "is_active", "is_staff", "last_login",
                  "date_joined")


class RefundResource(ExportOnlyResource):
    booking_number = _column("booking_number", "payment__booking__booking_number")
    stripe_payment_intent_id = _column("stripe_payment_intent_id", "payment__stripe_payment_intent_id")
    stripe_refund_id = _column("stripe_refund_id")
    amount = _column("amount", "amount_cents", widget=CentsAsDollarsWidget())
    reason = _column("reason")
    status = _column("status")
    processed_by = _column("processed_by", "processed_by__username")
    notes = _column("notes")
    failure_reason = _column("failure_reason")
    processed_at = _column("processed_at", widget=IsoDateTimeWidget())
    created_at = _column("created_at", widget=IsoDateTimeWidget())

    class Meta:
        model = m.Refund
        fields = ("booking_number", "stripe_payment_intent_id", "stripe_refund_id", "amount", "reason", "status",
                  "processed_by", "notes", "failure_reason", "processed_at", "created_at")

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("payment__booking", "processed_by")


class DailyMetricsResource(ExportOnlyResource):
    date = _column("date", widget=IsoDateWidget())
    bookings_created = _column("bookings_created")
    paid_bookings = _column("paid_bookings")
    revenue = _column("revenue", widget=MoneyWidget())
    refunds = _column("refunds", widget=MoneyWidget())
    pickups = _column("pickups")
    cancellations = _column("cancellations")
    computed_at = _column("computed_at", widget=IsoDateTimeWidget())

    class Meta:
        model = m.DailyMetrics
        fields = ("date", "bookings_created", "paid_bookings", "revenue", "refunds", "pickups", "cancellations",
                  "computed_at")
