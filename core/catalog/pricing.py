"""The pure price calculator: a booking request + a catalog snapshot → a price breakdown. No I/O."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

import holidays

from core.catalog.errors import PricingError
from core.common.money import ZERO, money_str, quantize

# Limits of what can be priced, for every interface (the API's schema shows the same numbers in its OpenAPI).
# No move we offer carries more; they bound the arithmetic and keep nonsense ("500 items") out of the records.
MAX_ITEM_COUNT = 500
MAX_SPECIALTY_QUANTITY = 20
MAX_SPECIALTY_LINES = 10


@dataclass(frozen=True)
class PackageInfo:
    code: str
    name: str
    max_items: int | None
    base_price: Decimal
    coi_included: bool


@dataclass(frozen=True)
class SpecialtyInfo:
    code: str
    name: str
    base_price: Decimal
    requires_van_availability: bool


@dataclass(frozen=True)
class StandardRateInfo:
    price_per_item: Decimal
    minimum_items: int


@dataclass(frozen=True)
class SurchargeInfo:
    code: str
    name: str
    rule_type: str
    amount: Decimal
    is_percentage: bool
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    recurs_annually: bool = False
    weekdays: tuple[int, ...] = ()
    applies_to: tuple[str, ...] = ()

    def applies(self, *, service_type: str, on: dt.date) -> bool:
        if self.applies_to and service_type not in self.applies_to:
            return False
        if self.rule_type == "day_of_week":
            return on.isoweekday() in self.weekdays
        if self.rule_type == "holiday":
            return is_us_federal_holiday(on)
        if self.rule_type == "date_range" and self.start_date and self.end_date:
            if self.recurs_annually:
                start, end, key = (
                    (self.start_date.month, self.start_date.day),
                    (self.end_date.month, self.end_date.day),
                    (on.month, on.day),
                )
                return start <= key <= end if start <= end else (key >= start or key <= end)
            return self.start_date <= on <= self.end_date
        return False


@dataclass(frozen=True)
class CatalogSnapshot:
    """What pricing needs for one date: prices, the rules, and the date's van-schedule override."""

    packages: dict[str, PackageInfo]
    specialty_items: dict[str, SpecialtyInfo]
    standard_rate: StandardRateInfo | None
    surcharge_rules: tuple[SurchargeInfo, ...]
    coi_fee: Decimal
    surcharge_override: Decimal | None = None


@dataclass(frozen=True)
class PriceRequest:
    booking_type: str
    pickup_date: dt.date
    package: str | None = None
    item_count: int = 0
    specialty_items: tuple[tuple[str, int], ...] = ()
    coi_required: bool = False


@dataclass(frozen=True)
class PriceLine:
    kind: str  # package | standard_delivery | specialty_item | surcharge | coi_fee
    code: str
    description: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class PriceBreakdown:
    booking_type: str
    pickup_date: dt.date
    base_price: Decimal
    specialty_items_total: Decimal
    surcharges: tuple[PriceLine, ...]
    surcharge_total: Decimal
    coi_fee: Decimal
    total_price: Decimal
    lines: tuple[PriceLine, ...] = field(default_factory=tuple)
    currency: str = "USD"

    def as_json(self) -> dict:
        """The contract's price breakdown (money as strings)."""
        def line(pl: PriceLine) -> dict:
            # by hand: dataclasses.asdict deep-copies every field and showed up in the preview's profile
            return {"kind": pl.kind, "code": pl.code, "description": pl.description, "quantity": pl.quantity,
                    "unit_price": money_str(pl.unit_price), "amount": money_str(pl.amount)}

        return {
            "currency": self.currency,
            "booking_type": self.booking_type,
            "pickup_date": self.pickup_date.isoformat(),
            "base_price": money_str(self.base_price),
            "specialty_items_total": money_str(self.specialty_items_total),
            "surcharges": [{"code": s.code, "name": s.description, "amount": money_str(s.amount)}
                           for s in self.surcharges],
            "surcharge_total": money_str(self.surcharge_total),
            "coi_fee": money_str(self.coi_fee),
            "total_price": money_str(self.total_price),
            "lines": [line(pl) for pl in self.lines],
        }


@lru_cache(maxsize=16)
def _us_holidays(year: int) -> holidays.HolidayBase:
    # observed=True (the default) includes the weekday a weekend holiday is observed on.
    return holidays.country_holidays("US", years=year)


def is_us_federal_holiday(on: dt.date) -> bool:
    return on in _us_holidays(on.year)


OVERRIDE_CODE = "date_override"
OVERRIDE_NAME = "Date surcharge"


def applicable_surcharges(service_type: str, on: dt.date, catalog: CatalogSnapshot) -> tuple[SurchargeInfo, ...]:
    """The rules that apply on `on`; a van-schedule override replaces them all with one flat amount."""
    if catalog.surcharge_override is not None:
        if quantize(catalog.surcharge_override) <= ZERO:
            return ()
        return (SurchargeInfo(code=OVERRIDE_CODE, name=OVERRIDE_NAME, rule_type="override",
                              amount=quantize(catalog.surcharge_override), is_percentage=False),)
    return tuple(rule for rule in catalog.surcharge_rules if rule.applies(service_type=service_type, on=on))


def calculate_price(request: PriceRequest, catalog: CatalogSnapshot) -> PriceBreakdown:
    """Price a booking request; raises PricingError (with field paths) when it cannot be priced."""
    errors: dict[str, list[str]] = {}
    lines: list[PriceLine] = []
    base = ZERO
    coi_included = False

    if request.item_count > MAX_ITEM_COUNT:
        errors["item_count"] = [f"At most {MAX_ITEM_COUNT} items can be booked online; call us for more."]
    if request.booking_type == "mini_move":
        package = catalog.packages.get(request.package or "")
        if package is None:
            errors["package"] = ["Choose a Mini Move package: " + ", ".join(sorted(catalog.packages)) + "."]
        else:
            if request.item_count < 0:
                errors["item_count"] = ["Item count cannot be negative."]
            elif package.max_items is not None and request.item_count > package.max_items:
                errors.setdefault("item_count", [f"The {package.name} package takes at most {package.max_items} "
                                                 "items."])
            base = quantize(package.base_price)
            coi_included = package.coi_included
            lines.append(PriceLine("package", package.code, f"{package.name} Mini Move", 1, base, base))
    elif request.booking_type == "standard":
        rate = catalog.standard_rate
        if rate is None:
            errors["booking_type"] = ["Standard delivery is not offered right now."]
        elif request.item_count < 1:
            errors["item_count"] = ["Standard delivery needs at least one item."]
        else:
            billed = max(request.item_count, rate.minimum_items)
            base = quantize(rate.price_per_item * billed)
            description = f"Standard delivery, {request.item_count} item(s)"
            if billed > request.item_count:
                description += f" (minimum {rate.minimum_items})"
            lines.append(PriceLine("standard_delivery", "standard", description, billed,
                                   quantize(rate.price_per_item), base))
    elif request.booking_type == "specialty":
        if not request.specialty_items:
            errors["specialty_items"] = ["Add at least one specialty item."]
        if request.item_count:
            # Priced per specialty item: a count would be stored and shown to ops without being charged.
            errors["item_count"] = ["Specialty bookings are priced per item: leave item_count at 0 and list "
                                    "the items (with their quantities) in specialty_items."]
    else:
        errors["booking_type"] = ["Choose mini_move, standard or specialty."]

    specialty_total = ZERO
    seen: set[str] = set()
    lines_to_price = request.specialty_items
    if len(request.specialty_items) > MAX_SPECIALTY_LINES:
        errors["specialty_items"] = [f"List at most {MAX_SPECIALTY_LINES} different specialty items."]
        lines_to_price = ()
    for index, (code, quantity) in enumerate(lines_to_price):
        item = catalog.specialty_items.get(code)
        if item is None:
            errors[f"specialty_items.{index}.code"] = [f"Unknown specialty item {code!r}."]
            continue
        if code in seen:
            errors[f"specialty_items.{index}.code"] = [f"{item.name} is listed twice; set its quantity instead."]
            continue
        if not 1 <= quantity <= MAX_SPECIALTY_QUANTITY:
            errors[f"specialty_items.{index}.quantity"] = [f"Quantity must be 1 to {MAX_SPECIALTY_QUANTITY}."]
            continue
        seen.add(code)
        amount = quantize(item.base_price * quantity)
        specialty_total += amount
        lines.append(PriceLine("specialty_item", code, item.name, quantity, quantize(item.base_price), amount))

    if errors:
        raise PricingError("The booking request cannot be priced.", fields=errors)

    subtotal = base + specialty_total
    surcharges: list[PriceLine] = []
    # Percentages are of the service subtotal (not of other surcharges), so stacked rules don't compound.
    for rule in applicable_surcharges(request.booking_type, request.pickup_date, catalog):
        amount = quantize(subtotal * rule.amount / Decimal(100)) if rule.is_percentage else quantize(rule.amount)
        surcharges.append(PriceLine("surcharge", rule.code, rule.name, 1, amount, amount))
    surcharge_total = sum((s.amount for s in surcharges), ZERO)
    lines.extend(surcharges)

    coi_fee = ZERO
    if request.coi_required and not coi_included:
        coi_fee = quantize(catalog.coi_fee)
        lines.append(PriceLine("coi_fee", "coi", "Certificate of insurance", 1, coi_fee, coi_fee))

    total = quantize(subtotal + surcharge_total + coi_fee)
    return PriceBreakdown(
        booking_type=request.booking_type,
        pickup_date=request.pickup_date,
        base_price=quantize(base),
        specialty_items_total=quantize(specialty_total),
        surcharges=tuple(surcharges),
        surcharge_total=quantize(surcharge_total),
        coi_fee=coi_fee,
        total_price=total,
        lines=tuple(lines),
    )
