"""The "Today" page: figures from core.reporting.selectors (a fixed number of aggregate queries)."""

from __future__ import annotations

import datetime as dt
import json

from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from core.catalog.models import ServiceType
from core.reporting import selectors as reporting
from ops_console.admin._common import money
from ops_console.admin.logistics import logistics_issues
from ops_console.documents_console import coi_issues


def _url(name: str, **params) -> str:
    url = reverse(name)
    if name == "admin:core_booking_changelist":
        params = {"when": "all", **params}  # the booking list shows upcoming pickups unless told otherwise
    return f"{url}?{urlencode(params)}" if params else url


def chart_options(*, x_title: str, y_title: str) -> dict:
    """Chart.js options with titled axes and the values on the y axis (Unfold's defaults hide both).

    Plain JSON: Unfold hands data-options to Chart.js as is, in place of its own defaults.
    """
    axis = {"border": {"display": False}, "grid": {"color": "rgba(156,163,175,.2)"}, "ticks": {"color": "#6b7280"}}
    return {
        "maintainAspectRatio": False,
        "plugins": {"legend": {"display": False}, "tooltip": {"enabled": True}},
        "scales": {
            "x": {**axis, "title": {"display": True, "text": x_title, "color": "#6b7280"}},
            "y": {**axis, "beginAtZero": True, "title": {"display": True, "text": y_title, "color": "#6b7280"},
                  "ticks": {"color": "#6b7280", "precision": 0}},
        },
    }


def dashboard_callback(request, context):
    user = request.user
    if not user.has_perm("core.view_booking"):
        context["ops_dashboard"] = None
        return context
    now = timezone.now()
    today = timezone.localdate(now)
    series = reporting.daily_series(days=30, now=now)  # one series feeds the cards and both charts
    kpis = reporting.dashboard_kpis(now=now, series=series)
    bookings = "admin:core_booking_changelist"
    show_money = user.has_perm("core.view_payment")
    week_start = today - dt.timedelta(days=today.weekday())
    cards = [
        {"title": "Bookings today", "value": kpis.bookings_today, "icon": "today",
         "link": _url(bookings, created_at_from_0=f"{today:%Y-%m-%d}", created_at_from_1="00:00")},
        {"title": "Bookings this week", "value": kpis.bookings_week, "icon": "date_range",
         "link": _url(bookings, created_at_from_0=f"{week_start:%Y-%m-%d}", created_at_from_1="00:00")},
        {"title": "Pickups next 7 days", "value": kpis.pickups_next_7d, "icon": "local_shipping",
         "link": _url(bookings, pickup_date_from=f"{today:%Y-%m-%d}",
                      pickup_date_to=f"{today + dt.timedelta(days=6):%Y-%m-%d}",
                      status__in="paid,scheduled,in_progress,completed")},
        {"title": "Pending payments", "value": kpis.pending_payments, "icon": "hourglass_top",
         "footer": money(kpis.pending_payments_amount) + " on hold",
         "link": _url(bookings, status__exact="pending", hold_expires_at__gte=now.isoformat())},
    ]
    if show_money:
        cards += [
            {"title": "Revenue, 7 days", "value": money(kpis.revenue_7d), "icon": "payments",
             "link": _url(bookings, payment_status__exact="paid")},
            {"title": "Revenue, 30 days", "value": money(kpis.revenue_30d), "icon": "account_balance",
             "link": _url(bookings, payment_status__exact="paid")},
            {"title": "Average booking value", "value": money(kpis.average_booking_value), "icon": "functions",
             "footer": f"{kpis.paid_bookings_30d} paid bookings, 30 days"},
        ]
    issues = [
        {"title": "Unpaid holds expiring", "value": kpis.holds_expiring,
         "hint": f"within {reporting.HOLD_EXPIRING_MINUTES} minutes",
         "link": _url(bookings, status__exact="pending")},
        {"title": "Failed payments", "value": kpis.payments_failed, "hint": "not cancelled",
         "link": _url(bookings, payment_status__exact="failed")},
        {"title": "Balance due", "value": kpis.balance_due, "hint": "a change not paid yet",
         "link": _url(bookings, payment_status__exact="balance_due",
                      status__in="paid,scheduled,in_progress,completed")},
        {"title": "Needs attention", "value": kpis.needs_attention, "hint": "disputes, late payments …",
         "link": _url(bookings, needs_attention__exact="1")},
        {"title": "Failed notifications", "value": kpis.notifications_failed, "hint": "last 7 days",
         "link": _url("admin:core_notification_changelist", status__exact="failed")
         if user.has_perm("core.view_notification") else ""},
        *coi_issues(user, now=now),
    ]
    issues += logistics_issues(user, today)
    by_type = reporting.bookings_by_service_type(series=series)
    type_chart = {
        "labels": [label for _v, label in ServiceType.choices],
        "datasets": [{"label": "Bookings, 30 days", "data": [by_type.get(v, 0) for v, _l in ServiceType.choices],
                      "backgroundColor": "var(--color-primary-600)", "maxBarThickness": 48}],
    }
    revenue_chart = None
    if show_money:
        revenue = reporting.revenue_by_day(series=series)
        revenue_chart = {
            "labels": [f"{d:%b %-d}" for d, _v in revenue],
            "datasets": [{"label": "Revenue (USD)", "data": [float(v) for _d, v in revenue],
                          "borderColor": "var(--color-primary-600)", "backgroundColor": "var(--color-primary-600)"}],
        }
    upcoming = reporting.upcoming_pickups(now=now)
    upcoming_table = {
        "headers": ["Day", "Morning", "Afternoon", "Flexible", "Booked", "Pending holds", "Capacity", "Remaining"],
        "rows": [[f"{day.date:%a %b %-d}", day.morning, day.afternoon, day.flexible, day.booked, day.holds,
                  day.capacity, day.remaining] for day in upcoming],
    }
    context["title"] = "Today"
    context["ops_dashboard"] = {
        "cards": cards,
        "issues": issues,
        "open_issues": kpis.open_issues,
        "type_chart": json.dumps(type_chart),
        "type_chart_options": json.dumps(chart_options(x_title="Service type", y_title="Bookings")),
        "revenue_chart": json.dumps(revenue_chart) if revenue_chart else "",
        "revenue_chart_options": json.dumps(chart_options(x_title="Day (New York)", y_title="Revenue (USD)")),
        "upcoming_table": upcoming_table,
        "today": today,
    }
    return context
