"""Reads for the ops console's dashboard and lists: every figure is one aggregate query, whatever the data size."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, DecimalField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from core.bookings.models import Booking, BookingStatus, PaymentState
from core.common.money import ZERO, from_cents
from core.customers.models import CustomerProfile
from core.notifications.models import Notification, NotificationStatus
from core.reporting.models import DailyMetrics

# A booking counts as revenue once money was taken for it (refunds are reported separately).
REVENUE_PAYMENT_STATES = (PaymentState.PAID, PaymentState.BALANCE_DUE, PaymentState.PARTIALLY_REFUNDED,
                          PaymentState.REFUNDED)
# Lifetime value counts bookings that were paid for and not cancelled.
LIFETIME_STATUSES = (BookingStatus.PAID, BookingStatus.SCHEDULED, BookingStatus.IN_PROGRESS, BookingStatus.COMPLETED)
HOLD_EXPIRING_MINUTES = 10
_MONEY = DecimalField(max_digits=14, decimal_places=2)


def _tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_start(day: dt.date) -> dt.datetime:
    """Midnight of a New York service day, as an aware datetime."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=_tz())


@dataclass(frozen=True)
class DashboardKpis:
    bookings_today: int
    bookings_week: int
    revenue_7d: Decimal
    revenue_30d: Decimal
    paid_bookings_30d: int
    pending_payments: int
    pending_payments_amount: Decimal
    pickups_next_7d: int
    holds_expiring: int
    payments_failed: int
    needs_attention: int
    notifications_failed: int
    balance_due: int = 0  # sold bookings owing the balance of a change (not cancelled)

    @property
    def average_booking_value(self) -> Decimal:
        if not self.paid_bookings_30d:
            return ZERO
        return (self.revenue_30d / self.paid_bookings_30d).quantize(Decimal("0.01"))

    @property
    def open_issues(self) -> int:
        return (self.holds_expiring + self.payments_failed + self.needs_attention + self.notifications_failed
                + self.balance_due)


@dataclass(frozen=True)
class DayFigures:
    date: dt.date
    bookings_created: int = 0
    paid_bookings: int = 0
    revenue: Decimal = ZERO
    by_type: dict = field(default_factory=dict)


def created_figures(*, since: dt.date, until: dt.date) -> dict[dt.date, DayFigures]:
    """Bookings created per New York day in [since, until]: count, paid count, revenue, by type (one query).

    The one definition of a day's booking figures: the dashboard's live days and the snapshot job both use it.
    """
    rows = (
        Booking.objects.filter(created_at__gte=day_start(since), created_at__lt=day_start(until + dt.timedelta(days=1)))
        .annotate(day=TruncDate("created_at", tzinfo=_tz()))
        .values("day", "booking_type")
        .annotate(n=Count("pk"), paid=Count("pk", filter=Q(payment_status__in=REVENUE_PAYMENT_STATES)),
                  revenue=Coalesce(Sum("total_price", filter=Q(payment_status__in=REVENUE_PAYMENT_STATES)),
                                   Value(ZERO), output_field=_MONEY))
        .order_by()
    )
    figures: dict[dt.date, DayFigures] = {}
    for r in rows:
        d = figures.get(r["day"]) or DayFigures(r["day"])
        figures[r["day"]] = DayFigures(d.date, d.bookings_created + r["n"], d.paid_bookings + r["paid"],
                                       d.revenue + r["revenue"], {**d.by_type, r["booking_type"]: r["n"]})
    return figures


def daily_series(*, days: int = 30, now: dt.datetime | None = None) -> list[DayFigures]:
    """Figures per New York day for the last `days` days, oldest first (2 queries whatever the data size).

    Finished days come from the DailyMetrics snapshot; today, and any day the job has not snapshotted yet,
    from one grouped query over just those days, so the dashboard never aggregates months of bookings.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    first = today - dt.timedelta(days=days - 1)
    snap = {row.date: row for row in DailyMetrics.objects.filter(date__gte=first, date__lt=today)}
    missing = [d for d in (first + dt.timedelta(days=i) for i in range(days)) if d == today or d not in snap]
    live = created_figures(since=min(missing), until=today)
    out = []
    for i in range(days):
        d = first + dt.timedelta(days=i)
        if d in missing:
            out.append(live.get(d, DayFigures(d)))
        else:
            row = snap[d]
            out.append(DayFigures(d, row.bookings_created, row.paid_bookings, row.revenue, row.bookings_by_type))
    return out


def dashboard_kpis(*, series: list[DayFigures], now: dt.datetime | None = None) -> DashboardKpis:
    """The "Today" cards: the 30-day `series` (daily_series) plus one aggregate over indexed, always-small sets
    of bookings."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    week_start = today - dt.timedelta(days=today.weekday())
    last_7 = [d for d in series if d.date > today - dt.timedelta(days=7)]
    pending_live = Q(status=BookingStatus.PENDING, hold_expires_at__gte=now)
    pickups_window = Q(pickup_date__gte=today, pickup_date__lt=today + dt.timedelta(days=7))
    # Only rows some card can count: an OR of indexed predicates (a BitmapOr on PostgreSQL).
    relevant = (pickups_window | pending_live | Q(payment_status=PaymentState.FAILED) | Q(needs_attention=True)
                | Q(payment_status=PaymentState.BALANCE_DUE))
    row = Booking.objects.filter(relevant).aggregate(
        pending_payments=Count("pk", filter=pending_live),
        pending_payments_amount=Coalesce(Sum("total_price", filter=pending_live), Value(ZERO), output_field=_MONEY),
        pickups_next_7d=Count("pk", filter=pickups_window
                              & ~Q(status__in=[BookingStatus.CANCELLED, BookingStatus.PENDING])),
        holds_expiring=Count("pk", filter=Q(status=BookingStatus.PENDING, hold_expires_at__gte=now,
                                            hold_expires_at__lt=now + dt.timedelta(minutes=HOLD_EXPIRING_MINUTES))),
        payments_failed=Count("pk", filter=Q(payment_status=PaymentState.FAILED)
                              & ~Q(status=BookingStatus.CANCELLED)),
        needs_attention=Count("pk", filter=Q(needs_attention=True)),
        balance_due=Count("pk", filter=Q(payment_status=PaymentState.BALANCE_DUE)
                          & ~Q(status=BookingStatus.CANCELLED)),
    )
    failed_notifications = Notification.objects.filter(
        status__in=[NotificationStatus.FAILED, NotificationStatus.BOUNCED],
        created_at__gte=day_start(today - dt.timedelta(days=6)),
    ).count()
    return DashboardKpis(
        bookings_today=series[-1].bookings_created,
        bookings_week=sum(d.bookings_created for d in series if d.date >= week_start),
        revenue_7d=sum((d.revenue for d in last_7), ZERO),
        revenue_30d=sum((d.revenue for d in series), ZERO),
        paid_bookings_30d=sum(d.paid_bookings for d in series),
        notifications_failed=failed_notifications,
        **row,
    )


def revenue_by_day(*, days: int = 30, now: dt.datetime | None = None,
                   series: list[DayFigures] | None = None) -> list[tuple[dt.date, Decimal]]:
    """Revenue per New York day, oldest first."""
    series = series if series is not None else daily_series(days=days, now=now)
    return [(d.date, d.revenue) for d in series]


def bookings_by_service_type(*, series: list[DayFigures]) -> dict[str, int]:
    """Bookings created per service type over the days of `series` (daily_series)."""
    totals: dict[str, int] = {}
    for d in series:
        for kind, n in (d.by_type or {}).items():
            totals[kind] = totals.get(kind, 0) + n
    return totals


@dataclass(frozen=True)
class PickupDay:
    """One service day of the coming week: confirmed pickups per window, live holds, and the van capacity left."""

    date: dt.date
    morning: int = 0
    afternoon: int = 0
    flexible: int = 0
    holds: int = 0  # unpaid bookings still holding a slot (they count against capacity until they expire)
    capacity: int = 0

    @property
    def booked(self) -> int:
        return self.morning + self.afternoon + self.flexible

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.booked - self.holds, 0)


def upcoming_pickups(*, days: int = 7, now: dt.datetime | None = None) -> list[PickupDay]:
    """Every day of the next `days` days, soonest first, days without pickups included (2 queries).

    Slots are counted by the same rule the booking API uses (availability.active_booking_filter): cancelled
    bookings and expired holds free theirs; capacity is the van schedule's override or the default.
    """
    from core.catalog.availability import active_booking_filter
    from core.catalog.models import VanSchedule

    now = now or timezone.now()
    today = timezone.localdate(now)
    window = {"pickup_date__gte": today, "pickup_date__lt": today + dt.timedelta(days=days)}
    rows = (
        Booking.objects.filter(active_booking_filter(now), **window)
        .values("pickup_date", "pickup_window")
        .annotate(booked=Count("pk", filter=~Q(status=BookingStatus.PENDING)),
                  holds=Count("pk", filter=Q(status=BookingStatus.PENDING)))
        .order_by()
    )
    overrides = dict(VanSchedule.objects.filter(is_active=True, date__gte=today,
                                                date__lt=today + dt.timedelta(days=days))
                     .exclude(capacity_override=None).values_list("date", "capacity_override"))
    default_capacity = int(settings.TOTETAXI["DEFAULT_DAILY_CAPACITY"])
    counts: dict[dt.date, dict] = {}
    for r in rows:
        day = counts.setdefault(r["pickup_date"], {"holds": 0})
        day[r["pickup_window"]] = r["booked"]
        day["holds"] += r["holds"]
    out = []
    for i in range(days):
        d = today + dt.timedelta(days=i)
        out.append(PickupDay(d, capacity=overrides.get(d, default_capacity), **counts.get(d, {})))
    return out


def daily_figures(*, day: dt.date) -> dict:
    """The DailyMetrics figures for one New York day (used by the snapshot job)."""
    from core.payments.models import Refund, RefundStatus

    start, end = day_start(day), day_start(day + dt.timedelta(days=1))
    created = created_figures(since=day, until=day).get(day) or DayFigures(day)
    row = Booking.objects.filter(Q(pickup_date=day) | Q(cancelled_at__gte=start, cancelled_at__lt=end)).aggregate(
        pickups=Count("pk", filter=Q(pickup_date=day) & ~Q(status=BookingStatus.CANCELLED)),
        cancellations=Count("pk", filter=Q(cancelled_at__gte=start, cancelled_at__lt=end)),
    )
    refunded_cents = Refund.objects.filter(
        status=RefundStatus.SUCCEEDED, created_at__gte=start, created_at__lt=end
    ).aggregate(total=Coalesce(Sum("amount_cents"), Value(0)))["total"]
    from core.documents.selectors import coi_needed_count
    from core.logistics.selectors import delivery_figures

    return {**row, "bookings_created": created.bookings_created, "paid_bookings": created.paid_bookings,
            "revenue": created.revenue, "bookings_by_type": created.by_type,
            "refunds": from_cents(refunded_cents), "outstanding_coi_count": coi_needed_count(today=day),
            **delivery_figures(start=start, end=end)}


def customer_lifetime_value_subquery() -> Subquery:
    """Per-customer sum of paid, not-cancelled bookings; a correlated subquery, so it runs only for shown rows."""
    totals = (
        Booking.objects.filter(customer=OuterRef("pk"), status__in=LIFETIME_STATUSES)
        .order_by().values("customer").annotate(total=Sum("total_price")).values("total")
    )
    return Subquery(totals, output_field=_MONEY)


def customer_admin_queryset() -> QuerySet[CustomerProfile]:
    return CustomerProfile.objects.annotate(
        lifetime_value=Coalesce(customer_lifetime_value_subquery(), Value(ZERO), output_field=_MONEY)
    )


def customer_booking_history_queryset() -> QuerySet[Booking]:
    """A customer's bookings for the profile page (the caller filters by customer)."""
    return Booking.objects.select_related("customer").order_by("-pickup_date", "-created_at")


def booking_admin_queryset() -> QuerySet[Booking]:
    """The booking desk's list: everything a row shows in one query."""
    return Booking.objects.select_related("customer", "pickup_address")


def booking_activity(booking: Booking, *, limit: int = 100) -> list[dict]:
    """Everything that happened to one booking: its history rows, status changes, notes, payments, messages.

    Each entry: when, who, what, summary (text), and the raw facts an interface words for people:
    `changes` [(model, field, old, new)] for a history row, `transition` (from, to, reason) for a status change.
    """
    from core.payments.models import Payment, Refund

    entries: list[dict] = []
    for model, label, flt in (
        (Booking, "Booking", {"id": booking.pk}),
        (Payment, "Payment", {"booking_id": booking.pk}),
        (Refund, "Refund", {"payment__booking_id": booking.pk}),
        (Notification, "Notification", {"booking_id": booking.pk}),
    ):
        entries.extend(_history_entries(model, label, flt, limit=limit))
    for change in booking.status_changes.select_related("actor").order_by("-created_at")[:limit]:
        entries.append({"when": change.created_at, "who": change.actor, "what": "Status", "summary": "",
                        "transition": (change.from_status, change.to_status, change.reason),
                        "ip": None, "agent": ""})
    for note in booking.staff_notes.select_related("author").order_by("-created_at")[:limit]:
        entries.append({"when": note.created_at, "who": note.author, "what": "Staff note", "summary": note.body,
                        "ip": None, "agent": ""})
    entries.sort(key=lambda e: e["when"], reverse=True)
    return entries[:limit]


def _history_entries(model, label: str, flt: dict, *, limit: int) -> list[dict]:
    rows = list(model.history.filter(**flt).select_related("history_user").order_by("-history_date")[:limit])
    # diff each row against the previous row of the same object (rows are newest first, per object)
    previous: dict = {}
    for row in reversed(rows):
        prev = previous.get(row.id)
        row._changes = row.diff_against(prev).changes if prev is not None else []
        previous[row.id] = row
    out = []
    for row in rows:
        kind = {"+": "created", "~": "changed", "-": "deleted"}.get(row.history_type, row.history_type)
        # raw values with their model and field: the interface decides how people read them
        changes = [(model, c.field, c.old, c.new) for c in row._changes]
        out.append({"when": row.history_date, "who": row.history_user, "what": f"{label} {kind}",
                    "summary": "" if changes else (str(row.instance) if kind != "deleted" else str(row.id)),
                    "changes": changes, "ip": row.ip_address, "agent": row.user_agent, "object": row})
    return out


def staff_activity(user, *, limit: int = 100) -> list[dict]:
    """What one staff user did: their history rows across the audited models, plus status changes and notes."""
    from core.bookings.models import BookingNote, BookingStatusChange
    from core.catalog.models import (
        MiniMovePackage,
        SpecialtyItem,
        StandardDeliveryRate,
        SurchargeRule,
        VanSchedule,
    )
    from core.customers.models import Address
    from core.notifications.models import EmailTemplate
    from core.payments.models import Payment, Refund

    entries: list[dict] = []
    for model in (Booking, CustomerProfile, Address, Payment, Refund, Notification, EmailTemplate,
                  MiniMovePackage, SpecialtyItem, StandardDeliveryRate, SurchargeRule, VanSchedule,
                  type(user)):
        for e in _history_entries(model, model._meta.verbose_name.capitalize(), {"history_user_id": user.pk},
                                  limit=limit):
            e["object_model"] = model
            entries.append(e)
    for change in BookingStatusChange.objects.filter(actor=user).select_related("booking").order_by("-created_at")[:limit]:
        entries.append({"when": change.created_at, "who": user, "what": "Status",
                        "summary": f"{change.booking.booking_number}:",
                        "transition": (change.from_status, change.to_status, change.reason),
                        "ip": None, "agent": ""})
    for note in BookingNote.objects.filter(author=user).select_related("booking").order_by("-created_at")[:limit]:
        entries.append({"when": note.created_at, "who": user, "what": "Staff note",
                        "summary": f"{note.booking.booking_number}: {note.body}", "ip": None, "agent": ""})
    entries.sort(key=lambda e: e["when"], reverse=True)
    return entries[:limit]


def booking_status_history(booking: Booking) -> list:
    """A booking's status changes, oldest first, with who made them (one query)."""
    return list(booking.status_changes.select_related("actor").order_by("created_at", "id"))


def booking_staff_notes(booking: Booking) -> list:
    """A booking's staff notes, newest first, with their authors (one query)."""
    return list(booking.staff_notes.select_related("author").order_by("-created_at"))


def quote_admin_queryset() -> QuerySet:
    """Quotes for the console's list, each with the number of the booking made from it, if any.

    A correlated subquery on bookings.quote_id (a foreign key, so indexed), evaluated only for the shown page.
    """
    from core.bookings.models import Quote

    converted = Booking.objects.filter(quote=OuterRef("pk")).values("booking_number")[:1]
    return Quote.objects.annotate(booking_number=Subquery(converted))


def booking_change_history(booking: Booking) -> list:
    """A booking's carried-out changes under its policy (cancel, reschedule, staff edits), newest first, with who
    previewed and who confirmed them and the policy version (one query)."""
    from core.bookings.change_models import ChangeQuote

    return list(ChangeQuote.objects.filter(booking=booking, used_at__isnull=False)
                .select_related("actor", "used_by", "policy").order_by("-used_at"))


def change_quote_used(*, booking: Booking, quote_id) -> bool:
    """Whether the booking's change quote was carried out (a console confirmation that errored after the commit,
    e.g. the payment provider refusing the balance's intent, still moved the booking)."""
    from core.bookings.change_models import ChangeQuote

    try:
        return ChangeQuote.objects.filter(pk=quote_id, booking=booking, used_at__isnull=False).exists()
    except (ValueError, DjangoValidationError):
        return False
