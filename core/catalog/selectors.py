"""Reads of the catalog: the pricing snapshot (cached per process, revalidated with one query)."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection

from core.catalog.models import (
    MiniMovePackage,
    SpecialtyItem,
    StandardDeliveryRate,
    SurchargeRule,
    VanSchedule,
)
from core.catalog.policy_models import ChangePolicy
from core.catalog.pricing import (
    CatalogSnapshot,
    PackageInfo,
    SpecialtyInfo,
    StandardRateInfo,
    SurchargeInfo,
)

_cache_lock = threading.Lock()
_cached: tuple[tuple, dict] | None = None


def _version_from() -> str:
    """A one-row relation `version(n, m)`: row count and latest updated_at over every priced catalog table.

    Any insert, edit or delete changes it (an insert or edit moves the latest updated_at, a delete the count),
    and one aggregate over a UNION ALL plans about a third faster than a subquery per table.
    """
    tables = [MiniMovePackage, SpecialtyItem, StandardDeliveryRate, SurchargeRule, ChangePolicy]
    union = " UNION ALL ".join(f"SELECT updated_at FROM {m._meta.db_table}" for m in tables)  # noqa: S608
    return f"(SELECT COUNT(*) AS n, MAX(updated_at) AS m FROM ({union}) rows_) version"  # noqa: S608


_VERSION_COLUMNS = "version.n, CAST(version.m AS TEXT)"


def _catalog_version() -> tuple:
    """One query that changes whenever any priced catalog row is added, edited or deleted."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_VERSION_COLUMNS} FROM {_version_from()}")  # noqa: S608 (our own table names)
        return (connection.alias, *cursor.fetchone())


def _load_static() -> dict:
    package_rows = list(MiniMovePackage.objects.filter(is_active=True))
    item_rows = list(SpecialtyItem.objects.filter(is_active=True))
    packages = {p.code: PackageInfo(p.code, p.name, p.max_items, p.base_price, p.coi_included) for p in package_rows}
    items = {i.code: SpecialtyInfo(i.code, i.name, i.base_price, i.requires_van_availability) for i in item_rows}
    rate_row = StandardDeliveryRate.objects.filter(is_active=True).first()
    rate = StandardRateInfo(rate_row.price_per_item, rate_row.minimum_items) if rate_row else None
    rules = tuple(
        SurchargeInfo(
            code=r.code, name=r.name, rule_type=r.rule_type, amount=r.amount, is_percentage=r.is_percentage,
            start_date=r.start_date, end_date=r.end_date, recurs_annually=r.recurs_annually,
            weekdays=tuple(int(d) for d in (r.weekdays or [])), applies_to=tuple(r.applies_to or []),
        )
        for r in SurchargeRule.objects.filter(is_active=True).order_by("code")
    )
    return {
        "packages": packages, "specialty_items": items, "standard_rate": rate, "surcharge_rules": rules,
        # Primary keys by code, so a booking can point at its package/items without another lookup.
        "package_ids": {p.code: p.pk for p in package_rows},
        "specialty_ids": {i.code: i.pk for i in item_rows},
        # The policy new bookings are sold under: cached with the prices, so booking_create pays no query for it.
        "change_policy_id": ChangePolicy.objects.filter(is_active=True).values_list("pk", flat=True).first(),
    }


def catalog_static(*, version: tuple | None = None) -> dict:
    """The active catalog; `version` when the caller already read it (see service_day_state)."""
    global _cached
    version = version or _catalog_version()
    cached = _cached
    if cached is not None and cached[0] == version:
        return cached[1]
    data = _load_static()
    with _cache_lock:
        _cached = (version, data)
    return data


def catalog_snapshot(on: dt.date, *, van=False, version: tuple | None = None) -> CatalogSnapshot:
    """Everything pricing needs for `on` (one query); pass `van` and `version` when the caller has them."""
    if van is False:
        van, version = _van_and_version(on)
    return _snapshot(catalog_static(version=version), van.surcharge_override if van else None)


def _snapshot(static: dict, surcharge_override: Decimal | None) -> CatalogSnapshot:
    return CatalogSnapshot(
        packages=static["packages"],
        specialty_items=static["specialty_items"],
        standard_rate=static["standard_rate"],
        surcharge_rules=static["surcharge_rules"],
        coi_fee=Decimal(settings.TOTETAXI["COI_FEE"]),
        surcharge_override=surcharge_override,
    )


def active_packages():
    return MiniMovePackage.objects.filter(is_active=True).order_by("sort_order", "base_price")


def active_specialty_items(*, keeping: tuple[str, ...] | list[str] = ()):
    """Active specialty items, and those in `keeping` (a booking's own items) even if retired since."""
    items = SpecialtyItem.objects.filter(is_active=True)
    if keeping:
        items = items | SpecialtyItem.objects.filter(code__in=list(keeping))
    return items.order_by("name")



@dataclass(frozen=True)
class VanInfo:
    """The fields of a date's VanSchedule that availability and pricing read."""

    capacity_override: int | None
    specialty_items_available: bool
    surcharge_override: Decimal | None


@dataclass(frozen=True)
class ServiceDayState:
    van: VanInfo | None
    used: int
    catalog_version: tuple


_VAN_COLUMNS = ("van.id, van.capacity_override, van.specialty_items_available, "
                "CAST(van.surcharge_override AS TEXT)")


def _van_join() -> str:
    return f"LEFT JOIN {VanSchedule._meta.db_table} van ON van.date = %s AND van.is_active"


def _van_info(has_van, capacity, specialty, override) -> VanInfo | None:
    if not has_van:
        return None
    return VanInfo(
        capacity_override=None if capacity is None else int(capacity),
        specialty_items_available=bool(specialty),
        surcharge_override=None if override is None else Decimal(str(override)),
    )


def _van_and_version(on: dt.date) -> tuple[VanInfo | None, tuple]:
    """The date's van schedule and the catalog version in one round trip (the pricing read path)."""
    day = connection.ops.adapt_datefield_value(on)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_VAN_COLUMNS}, {_VERSION_COLUMNS} FROM {_version_from()} {_van_join()}",  # noqa: S608
                       [day])
        van_id, capacity, specialty, override, *version = cursor.fetchone()
    version = (connection.alias, *version)
    _remember_pricing_state(on, version, override)
    return _van_info(van_id, capacity, specialty, override), version


# --- pricing state as last read, for writes that re-check it in their own statement -----------------------

@dataclass(frozen=True)
class PricingState:
    """A date's pricing inputs as last read: the snapshot, plus what a write must find unchanged to rely on it.

    `version` is the catalog version (alias, row count, latest updated_at); `surcharge_override` is the
    date's van-schedule override exactly as the database renders it as text (None without one).
    """

    on: dt.date
    snapshot: CatalogSnapshot
    version: tuple
    surcharge_override: str | None

    def still_current(self) -> tuple[str, list, str, list]:
        """SQL that holds only while this state is current: (FROM clause, its params, WHERE condition, its
        params), for a write that must not rely on a stale price (see core.bookings.services.quote_insert)."""
        same = "IS NOT DISTINCT FROM" if connection.vendor == "postgresql" else "IS"
        _alias, count, latest = self.version
        return (f"{_version_from()} {_van_join()}", [connection.ops.adapt_datefield_value(self.on)],
                f"version.n = %s AND CAST(version.m AS TEXT) {same} %s "
                f"AND CAST(van.surcharge_override AS TEXT) {same} %s", [count, latest, self.surcharge_override])


_MAX_REMEMBERED_DATES = 1024
_last_read: dict[dt.date, tuple[tuple, str | None]] = {}


def _remember_pricing_state(on: dt.date, version: tuple, override) -> None:
    _last_read.pop(on, None)  # re-inserted last: the least recently read date is the one evicted
    if len(_last_read) >= _MAX_REMEMBERED_DATES:
        _last_read.pop(next(iter(_last_read)))
    _last_read[on] = (version, None if override is None else str(override))


def pricing_state_as_last_read(on: dt.date) -> PricingState | None:
    """No query: `on`'s pricing inputs as this process last read them, or None (never read, or the catalog
    has been reloaded since). Possibly stale: only for a write that checks `still_current()` in the same
    statement."""
    seen = _last_read.get(on)
    cached = _cached
    if seen is None or cached is None or cached[0] != seen[0]:
        return None
    version, override = seen
    return PricingState(on=on, snapshot=_snapshot(cached[1], None if override is None else Decimal(override)),
                        version=version, surcharge_override=override)


def service_day_state(on: dt.date, *, now: dt.datetime, exclude_booking_id=None) -> ServiceDayState:
    """One query: the slots used on `on`, its van schedule and the catalog version (for the booking write path).

    Call it after taking the date's ServiceDay lock so the count cannot change before the booking is inserted.
    """
    from core.bookings.models import Booking
    from core.catalog.availability import active_booking_filter

    booked = Booking.objects.filter(active_booking_filter(now), pickup_date=on)
    if exclude_booking_id is not None:
        booked = booked.exclude(pk=exclude_booking_id)
    count_sql, count_params = booked.values("pk").query.sql_with_params()
    sql = (f"SELECT (SELECT COUNT(*) FROM ({count_sql}) booked), "  # noqa: S608 (compiled by the ORM)
           f"{_VAN_COLUMNS}, {_VERSION_COLUMNS} FROM {_version_from()} {_van_join()}")
    day = connection.ops.adapt_datefield_value(on)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*count_params, day])
        used, van_id, capacity, specialty, override, *version = cursor.fetchone()
    return ServiceDayState(van=_van_info(van_id, capacity, specialty, override), used=int(used),
                           catalog_version=(connection.alias, *version))
