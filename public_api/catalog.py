"""`/services/`: the catalog, availability, surcharges and price calculation."""


from django.utils import timezone
from ninja import Field as NinjaField
from ninja import Query, Router, Status

from core.bookings.services import price_and_check
from core.catalog import availability
from core.catalog.pricing import applicable_surcharges
from core.catalog.selectors import active_packages, active_specialty_items, catalog_snapshot
from core.common.money import money_str
from core.common.ratelimit import check_request_rate_limit
from public_api.schemas import (
    AvailabilityOut,
    AvailableDatesOut,
    BookingRequestIn,
    CalculatedPriceOut,
    ErrorOut,
    IsoDate,
    PackageOut,
    Schema,
    ServiceTypeLit,
    SpecialtyItemOut,
    SurchargeRuleOut,
)

router = Router(tags=["catalog"])

ERRORS = {422: ErrorOut, 429: ErrorOut}


class ServiceTypeQuery(Schema):
    service_type: ServiceTypeLit = "mini_move"


class AvailableDatesQuery(Schema):
    service_type: ServiceTypeLit = "mini_move"
    days_ahead: int = NinjaField(30, ge=1, le=365)


@router.get("packages/", response=list[PackageOut], summary="Mini Move packages")
def packages(request):
    """The active Mini Move packages, cheapest first (`max_items` null = unlimited)."""
    return [
        {"code": p.code, "name": p.name, "max_items": p.max_items, "base_price": money_str(p.base_price),
         "coi_included": p.coi_included, "description": p.description}
        for p in active_packages()
    ]


@router.get("specialty-items/", response=list[SpecialtyItemOut], summary="Specialty items")
def specialty_items(request):
    """Items that need special handling (Peloton, surfboard, crib …), bookable alone or added to a move."""
    return [
        {"code": i.code, "name": i.name, "base_price": money_str(i.base_price),
         "requires_van_availability": i.requires_van_availability, "weight_limit": i.weight_limit,
         "special_handling_notes": i.special_handling_notes}
        for i in active_specialty_items()
    ]


@router.get("availability/{date}/", response={200: AvailabilityOut, 422: ErrorOut},
            summary="Can this date be booked?")
def date_availability(request, date: IsoDate, query: Query[ServiceTypeQuery]):
    """Capacity left on a New York service date; when unavailable, the reasons and the nearest alternatives."""
    result = availability.check_date(date, query.service_type)
    return Status(200, AvailabilityOut.model_validate({
        "date": result.date, "service_type": result.service_type, "available": result.available,
        "remaining_capacity": result.remaining_capacity,
        "specialty_items_available": result.specialty_items_available,
        "specialty_vans_available": result.specialty_vans,
        "reasons": list(result.reasons), "alternatives": list(result.alternatives),
    }))


@router.get("available-dates/", response={200: AvailableDatesOut, 422: ErrorOut}, summary="Bookable dates")
def available_dates(request, query: Query[AvailableDatesQuery]):
    """Every bookable date from the first one (lead time) up to `days_ahead` days from today."""
    dates = availability.available_dates(query.service_type, days_ahead=query.days_ahead)
    return Status(200, {"service_type": query.service_type, "dates": dates})


@router.get("surcharges/{date}/", response={200: list[SurchargeRuleOut], 422: ErrorOut},
            summary="Surcharges on a date")
def surcharges(request, date: IsoDate, query: Query[ServiceTypeQuery]):
    """The surcharge rules that apply on `date` for the service type, after any van-schedule override."""
    rules = applicable_surcharges(query.service_type, date, catalog_snapshot(date))
    return Status(200, [{"code": r.code, "name": r.name, "amount": money_str(r.amount), "is_percentage": r.is_percentage}
                 for r in rules])


@router.post("calculate-price/", response={200: CalculatedPriceOut, **ERRORS}, summary="Price a booking request",
             openapi_extra={"description": (
                 "Customer and addresses are not needed. Nothing is stored; use bookings/preview/ for a price that "
                 "is honoured when booking. `bookable` says whether the date can be booked as things stand "
                 "(false with `reasons` and `alternatives` when it is too soon, beyond the horizon, closed, full, "
                 "or has no van for the specialty items).")})
def calculate_price(request, payload: BookingRequestIn):
    check_request_rate_limit(request, route="services.calculate_price")
    breakdown, bookability = price_and_check(payload.to_request(), now=timezone.now())
    return Status(200, CalculatedPriceOut.model_validate({**breakdown.as_json(), **bookability.as_json()}))
