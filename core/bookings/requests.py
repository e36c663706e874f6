"""The typed booking request every interface hands to core (the API's schema and the console's form)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from core.catalog.pricing import PriceRequest
from core.customers.services import AddressData, CustomerData


@dataclass(frozen=True)
class BookingRequest:
    booking_type: str
    pickup_date: dt.date
    pickup_window: str = "flexible"
    package: str | None = None
    item_count: int = 0
    specialty_items: tuple[tuple[str, int], ...] = ()
    coi_required: bool = False
    customer: CustomerData | None = None
    pickup_address: AddressData | None = None
    dropoff_address: AddressData | None = None
    notes: str = ""
    quote_id: str | None = None

    def price_request(self) -> PriceRequest:
        return PriceRequest(
            booking_type=self.booking_type,
            pickup_date=self.pickup_date,
            package=self.package if self.booking_type == "mini_move" else None,
            item_count=self.item_count,
            specialty_items=tuple(self.specialty_items),
            coi_required=self.coi_required,
        )

    def pricing_canonical(self) -> dict:
        """What the price depends on, as plain JSON (stored with a quote)."""
        pr = self.price_request()
        return {
            "booking_type": pr.booking_type,
            "pickup_date": pr.pickup_date.isoformat(),
            "package": pr.package,
            "item_count": pr.item_count,
            "specialty_items": sorted([list(x) for x in pr.specialty_items]),
            "coi_required": pr.coi_required,
        }

    def pricing_hash(self, canonical: dict | None = None) -> str:
        """Identifies what the price depends on, so a quote is only honoured for the same request.

        `canonical`: this request's pricing_canonical(), when the caller has already built it.
        """
        canonical = self.pricing_canonical() if canonical is None else canonical
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()



def booking_request_with_changes(booking, *, specialty_items: tuple[tuple[str, int], ...], **changes
                                 ) -> BookingRequest:
    """The request a booking was made with, with `changes` applied (for PATCH); None values mean "unchanged"."""
    values = {
        "booking_type": booking.booking_type,
        "pickup_date": booking.pickup_date,
        "pickup_window": booking.pickup_window,
        "package": booking.package.code if booking.package_id else None,
        "item_count": booking.item_count,
        "specialty_items": specialty_items,
        "coi_required": booking.coi_required,
        "notes": booking.notes,
    }
    values.update({k: v for k, v in changes.items() if v is not None})
    return BookingRequest(**values)
