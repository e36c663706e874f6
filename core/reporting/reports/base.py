"""Shared pieces of the reports: the result shape, periods in New York time, the reporting database alias.

Every figure is aggregated in SQL; Python only merges already-grouped rows (one per period and dimension)
and fills periods that had no rows, so the work in Python is bounded by the range, never by the data size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connections
from django.db.models import Count, DateField, F, Func, IntegerField, Value
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek

from core.common.errors import ValidationError
from core.common.money import from_cents

REPORTING_ALIAS = "reporting"


class Grouping:
    DAY, WEEK, MONTH, NONE = "day", "week", "month", "none"
    CHOICES = [(DAY, "Daily"), (WEEK, "Weekly (Monday)"), (MONTH, "Monthly"), (NONE, "Whole range")]
    VALUES = [c[0] for c in CHOICES]


_TRUNC = {Grouping.DAY: TruncDay, Grouping.WEEK: TruncWeek, Grouping.MONTH: TruncMonth}


# Counts are COUNT(*): PostgreSQL then need not read the (UUID) key of every row; COUNT("id") measured 7x slower
# on the 90-day pickup aggregate over 300k bookings (bench/reports.py).


def count_rows(*, filter=None) -> Count:  # noqa: A002 - the aggregate's own keyword
    """COUNT(*), or COUNT(1) FILTER (WHERE …): Django refuses a filter on Count("*")."""
    return Count("*") if filter is None else Count(Value(1), filter=filter)


def report_db() -> str:
    """The alias report selectors read from: the read-only replica when REPORTING_DATABASE_URL is set."""
    return REPORTING_ALIAS if REPORTING_ALIAS in connections.settings else "default"


def tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz())


def datetime_range(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, the day after end 00:00) in New York time: a half-open range of aware datetimes."""
    return day_start(start), day_start(end + dt.timedelta(days=1))


def period_of(expression: str, grouping: str, *, is_datetime: bool = True):
    """The SQL expression of a row's period start (a date), truncated in New York time for datetimes."""
    if grouping == Grouping.NONE:
        return None
    trunc = _TRUNC[grouping]
    if not is_datetime and grouping == Grouping.DAY:
        return F(expression)  # already a date: DATE_TRUNC would cast every row to a timestamp and back
    if is_datetime:
        return trunc(expression, output_field=DateField(), tzinfo=tz())
    return trunc(expression, output_field=DateField())


def constant_period() -> Value:
    """The period of every row when the report is not grouped by time."""
    return Value(None, output_field=DateField())


class DaysBetween(Func):
    """Whole days from the second date to the first, as an integer (PostgreSQL's date − date)."""

    arg_joiner = " - "
    template = "(%(expressions)s)"
    output_field = IntegerField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="CAST(julianday(%(expressions)s) AS INTEGER)",
                           arg_joiner=") - julianday(", **extra_context)


def period_start(day: dt.date, grouping: str) -> dt.date | None:
    if grouping == Grouping.DAY:
        return day
    if grouping == Grouping.WEEK:
        return day - dt.timedelta(days=day.weekday())
    if grouping == Grouping.MONTH:
        return day.replace(day=1)
    return None


def next_period(period: dt.date, grouping: str) -> dt.date:
    if grouping == Grouping.DAY:
        return period + dt.timedelta(days=1)
    if grouping == Grouping.WEEK:
        return period + dt.timedelta(days=7)
    return (period.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def periods(start: dt.date, end: dt.date, grouping: str) -> list[dt.date | None]:
    """The period starts covering [start, end], in order ([None] for the whole range)."""
    if grouping == Grouping.NONE:
        return [None]
    out, day = [], period_start(start, grouping)
    while day <= end:
        out.append(day)
        day = next_period(day, grouping)
    return out


def days_in(period: dt.date | None, grouping: str, start: dt.date, end: dt.date) -> int:
    """How many days of [start, end] fall in the period."""
    if period is None:
        return (end - start).days + 1
    lo, hi = max(period, start), min(next_period(period, grouping) - dt.timedelta(days=1), end)
    return max((hi - lo).days + 1, 0)


def check_range(*, start: dt.date, end: dt.date, grouping: str, max_days: int = 3 * 366) -> None:
    errors = {}
    if start > end:
        errors["end"] = ["The end date is before the start date."]
    elif (end - start).days >= max_days:
        errors["end"] = [f"A report covers at most {max_days} days."]
    if grouping not in Grouping.VALUES:
        errors["grouping"] = [f"Choose one of {', '.join(Grouping.VALUES)}."]
    if grouping == Grouping.DAY and (end - start).days > 400:
        errors["grouping"] = ["Daily grouping covers at most 400 days; choose weekly or monthly."]
    if errors:
        raise ValidationError("The report parameters are not valid.", fields=errors)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "int"  # int | money | percent | text | date | days | hours


@dataclass
class Section:
    """One table of a report: its columns, its rows (dicts keyed by column key) and its totals row."""

    key: str
    title: str
    columns: list[Column]
    rows: list[dict]
    totals: dict | None = None


@dataclass
class ReportResult:
    report_type: str
    title: str
    params: dict
    sections: list[Section]
    summary: dict = field(default_factory=dict)  # the console's cards: label -> value
    notes: list[str] = field(default_factory=list)  # what a figure does not include, in words

    @property
    def main(self) -> Section:
        return self.sections[0]


def merge_rows(keys: Iterable[tuple], sources: Iterable[tuple[Iterable[dict], tuple[str, ...]]],
               key_names: tuple[str, ...], measures: Iterable[str]) -> dict[tuple, dict]:
    """Merge grouped rows from several aggregate queries into one dict per key, zero for missing measures.

    `keys` are keys every result must have (the periods), `sources` pairs of (rows, key fields of those rows).
    """
    measures = tuple(measures)
    merged: dict[tuple, dict] = {}

    def blank(key):
        return {**dict(zip(key_names, key, strict=True)), **{m: 0 for m in measures}}

    for key in keys:
        merged[key] = blank(key)
    for rows, fields in sources:
        for r in rows:
            key = tuple(r[f] for f in fields)
            target = merged.setdefault(key, blank(key))
            for m in measures:
                if m in r and r[m] is not None:
                    target[m] += r[m]
    return merged


def money(cents: int) -> Decimal:
    return from_cents(int(cents or 0))


def ratio(numerator, denominator) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator) * 100).quantize(Decimal("0.1"))
