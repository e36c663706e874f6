"""Reads of the catalog: the pricing snapshot (cached per process, revalidated with one query)."""

from __future__ import annotations

import datetime as dt
import threading
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
from core.catalog.pricing import (
    CatalogSnapshot,
    PackageInfo,
    SpecialtyInfo,
    StandardRateInfo,
    SurchargeInfo,
)

_cache_lock = threading.Lock()
_cached: tuple[tuple, dict] | None = None


def _catalog_version() -> tuple:
    """One query that changes whenever any priced catalog row is added, edited or deleted."""
    tables = [MiniMovePackage, SpecialtyItem, StandardDeliveryRate, SurchargeRule]
    parts = [
        f"(SELECT COUNT(*) || '/' || COALESCE(MAX(updated_at)::text, '') FROM {m._meta.db_table})"  # noqa: S608
        for m in tables
    ]
    if connection.vendor == "sqlite":
        parts = [p.replace("::text", "") for p in parts]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts))  # noqa: S608 (our own table names)
        return (connection.alias, *cursor.fetchone())


def _load_static() -> dict:
    packages = {
        p.code: PackageInfo(p.code, p.name, p.max_items, p.base_price, p.coi_included)
        for p in MiniMovePackage.objects.filter(is_active=True)
    }
    items = {
        i.code: SpecialtyInfo(i.code, i.name, i.base_price, i.requires_van_availability)
        for i in SpecialtyItem.objects.filter(is_active=True)
    }
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
    return {"packages": packages, "specialty_items": items, "standard_rate": rate, "surcharge_rules": rules}


def catalog_static() -> dict:
    global _cached
    version = _catalog_version()
    cached = _cached
    if cached is not None and cached[0] == version:
        return cached[1]
    data = _load_static()
    with _cache_lock:
        _cached = (version, data)
    return data


def van_schedule_for(on: dt.date) -> VanSchedule | None:
    return VanSchedule.objects.filter(date=on, is_active=True).first()


def catalog_snapshot(on: dt.date, *, van: VanSchedule | None | bool = False) -> CatalogSnapshot:
    """Everything pricing needs for `on`; pass `van` when the caller already loaded the date's schedule."""
    static = catalog_static()
    if van is False:
        van = van_schedule_for(on)
    return CatalogSnapshot(
        packages=static["packages"],
        specialty_items=static["specialty_items"],
        standard_rate=static["standard_rate"],
        surcharge_rules=static["surcharge_rules"],
        coi_fee=Decimal(settings.TOTETAXI["COI_FEE"]),
        surcharge_override=van.surcharge_override if van else None,
    )


def active_packages():
    return MiniMovePackage.objects.filter(is_active=True).order_by("sort_order", "base_price")


def active_specialty_items():
    return SpecialtyItem.objects.filter(is_active=True).order_by("name")

