"""Request and response schemas of the public API (API_CONTRACT.md). Money is a string with two decimals."""


import datetime as dt
import re
from collections.abc import Callable
from typing import Annotated, Literal

from ninja import Field
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StrictBool, StrictInt

from core.bookings.models import NOTES_MAX_LENGTH
from core.bookings.requests import BookingRequest
from core.catalog.pricing import MAX_ITEM_COUNT, MAX_SPECIALTY_LINES, MAX_SPECIALTY_QUANTITY
from core.common.errors import ErrorCode
from core.common.text import text_problem
from core.customers.services import AddressData, CustomerData
from core.customers.validators import ADDRESS_CHECKS, email_problem, name_problem, phone_problem

ServiceTypeLit = Literal["mini_move", "standard", "specialty"]
WindowLit = Literal["morning", "afternoon", "flexible"]


def _storable(value: str) -> str:
    # core refuses these too; checked at parsing as well so a bad string never reaches a log or a lookup
    if problem := text_problem(value):
        raise ValueError(problem)
    return value


def _checked(problem: Callable[[str], str | None]) -> AfterValidator:
    """A pydantic validator from one of core's field checks (the same sentence the console shows)."""
    def check(value: str) -> str:
        if message := problem(value):
            raise ValueError(message)
        return value

    return AfterValidator(check)


def Text(max_length: int, *checks: Callable[[str], str | None], **kwargs):  # noqa: N802 (reads like a type)
    """Storable text of at most `max_length` characters, checked by core's field checks in the schema, so one
    422 lists every field's problem at once."""
    return Annotated[str, AfterValidator(_storable), *map(_checked, checks), Field(max_length=max_length, **kwargs)]


def _iso_date(value):
    # pydantic would also take 0 or "1700000000" as a Unix timestamp; the contract says YYYY-MM-DD.
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("Use a date as YYYY-MM-DD, e.g. 2027-03-10.")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]


class Schema(BaseModel):
    """Every API schema's base: a plain pydantic model.

    We validate plain dicts in and build plain dicts out (the render_* functions), never ORM objects, so
    ninja.Schema's wrap validator, which puts every value behind a DjangoGetter to resolve attributes, is
    per-request cost for nothing: on bookings/preview/ it was a quarter of the handler's time.
    """


# --- errors ----------------------------------------------------------------------------------------------

class ErrorDetail(Schema):
    code: ErrorCode = Field(description="One of the codes listed in the API description",
                            examples=["date_unavailable"])
    message: str = Field(examples=["Saturday, March 13, 2027 cannot be booked (fully_booked)."])
    fields: dict[str, list[str]] = Field(default_factory=dict,
                                         examples=[{"pickup_date": ["fully_booked"]}])


class ErrorOut(Schema):
    """Every 4xx/5xx body."""

    error: ErrorDetail


# --- catalog ---------------------------------------------------------------------------------------------

class PackageOut(Schema):
    code: str = Field(examples=["petite"])
    name: str = Field(examples=["Petite"])
    max_items: int | None = Field(description="null means unlimited", examples=[15])
    base_price: str = Field(examples=["995.00"])
    coi_included: bool
    description: str


class SpecialtyItemOut(Schema):
    code: str = Field(examples=["peloton"])
    name: str = Field(examples=["Peloton"])
    base_price: str = Field(examples=["500.00"])
    requires_van_availability: bool
    weight_limit: int | None = Field(description="Pounds", examples=[140])
    special_handling_notes: str


class AvailabilityOut(Schema):
    date: dt.date
    service_type: ServiceTypeLit
    available: bool
    remaining_capacity: int
    specialty_items_available: bool = Field(description=(
        "Some specialty item can be booked on the date: all of them when it has specialty vans, otherwise "
        "those whose `requires_van_availability` is false"))
    specialty_vans_available: bool = Field(description=(
        "The date has specialty vans: items with `requires_van_availability` can be booked"))
    reasons: list[str] = Field(description="lead_time, beyond_horizon, closed, fully_booked, "
                                           "specialty_unavailable", examples=[["fully_booked"]])
    alternatives: list[dt.date] = Field(description="Nearest available dates, soonest first")


class AvailableDatesOut(Schema):
    service_type: ServiceTypeLit
    dates: list[dt.date]


class SurchargeRuleOut(Schema):
    code: str = Field(examples=["weekend"])
    name: str = Field(examples=["Weekend surcharge"])
    amount: str = Field(description="Dollars, or percent when is_percentage", examples=["100.00"])
    is_percentage: bool


# --- pricing ---------------------------------------------------------------------------------------------

class SurchargeLineOut(Schema):
    code: str
    name: str
    amount: str


class PriceLineOut(Schema):
    kind: str = Field(description="package | standard_delivery | specialty_item | surcharge | coi_fee")
    code: str
    description: str
    quantity: int
    unit_price: str
    amount: str


PRICE_EXAMPLE = {
    "currency": "USD", "booking_type": "mini_move", "pickup_date": "2027-03-13", "base_price": "995.00",
    "specialty_items_total": "500.00", "surcharges": [{"code": "weekend", "name": "Weekend surcharge",
                                                       "amount": "100.00"}],
    "surcharge_total": "100.00", "coi_fee": "50.00", "total_price": "1645.00",
    "lines": [
        {"kind": "package", "code": "petite", "description": "Petite Mini Move", "quantity": 1,
         "unit_price": "995.00", "amount": "995.00"},
        {"kind": "specialty_item", "code": "peloton", "description": "Peloton", "quantity": 1,
         "unit_price": "500.00", "amount": "500.00"},
        {"kind": "surcharge", "code": "weekend", "description": "Weekend surcharge", "quantity": 1,
         "unit_price": "100.00", "amount": "100.00"},
        {"kind": "coi_fee", "code": "coi", "description": "Certificate of insurance", "quantity": 1,
         "unit_price": "50.00", "amount": "50.00"},
    ],
}


class PriceBreakdownOut(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [PRICE_EXAMPLE]})

    currency: Literal["USD"]
    booking_type: ServiceTypeLit
    pickup_date: dt.date
    base_price: str
    specialty_items_total: str
    surcharges: list[SurchargeLineOut]
    surcharge_total: str
    coi_fee: str
    total_price: str
    lines: list[PriceLineOut]


BOOKABLE_EXAMPLE = {"bookable": True, "reasons": [], "alternatives": [], "alternative_windows": []}


class CalculatedPriceOut(PriceBreakdownOut):
    """The price, and whether the date can be booked as things stand (checked again when booking)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {**PRICE_EXAMPLE, **BOOKABLE_EXAMPLE},
        {**PRICE_EXAMPLE, "bookable": False, "reasons": ["fully_booked"],
         "alternatives": ["2027-03-12", "2027-03-14", "2027-03-15"]}]})

    bookable: bool = Field(description="false: POST bookings/ would answer 409 date_unavailable for this date")
    reasons: list[str] = Field(description="Why not, as in services/availability/: lead_time, beyond_horizon, "
                                           "closed, fully_booked, specialty_unavailable; with addresses, "
                                           "building_closed or building_lead_time; empty when bookable")
    alternatives: list[dt.date] = Field(description="When not bookable: the nearest available dates, soonest "
                                                    "first")
    alternative_windows: list[str] = Field(default_factory=list, description=(
        "When a building's move hours refuse the pickup window (reason building_closed): the windows it "
        "allows on the same day, if the day can be booked"))


class QuoteOut(CalculatedPriceOut):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {**PRICE_EXAMPLE, **BOOKABLE_EXAMPLE, "quote_id": "0d5c3f0e-7c47-4c39-9d8b-3b0f1f0d5a11",
         "expires_at": "2027-03-01T15:30:00-05:00"},
        {**PRICE_EXAMPLE, "bookable": False, "reasons": ["lead_time"], "alternatives": ["2027-03-03"],
         "quote_id": None, "expires_at": None}]})

    quote_id: str | None = Field(description="null when the date cannot be booked (no quote is kept)")
    expires_at: dt.datetime | None


# --- booking requests ------------------------------------------------------------------------------------

class SpecialtyItemIn(Schema):
    code: Text(32) = Field(examples=["peloton"])
    quantity: StrictInt = Field(1, ge=1, le=MAX_SPECIALTY_QUANTITY)


class CustomerIn(Schema):
    name: Text(200, name_problem) = Field(examples=["Alex Morgan"])
    email: Text(254, email_problem) = Field(examples=["alex@example.com"])
    phone: Text(32, phone_problem) = Field("", description="E.164 preferred; US numbers are normalised",
                                           examples=["+12125550123"])

    def to_data(self) -> CustomerData:
        return CustomerData(name=self.name, email=self.email, phone=self.phone)


class AddressIn(Schema):
    line1: Text(200, ADDRESS_CHECKS["line1"]) = Field(examples=["245 East 72nd Street"])
    line2: Text(200) = ""
    city: Text(100, ADDRESS_CHECKS["city"]) = Field(examples=["New York"])
    state: Text(2, ADDRESS_CHECKS["state"]) = Field(description="Two-letter US state code", examples=["NY"])
    zip_code: Text(10, ADDRESS_CHECKS["zip_code"]) = Field(examples=["10021"])

    def to_data(self) -> AddressData:
        return AddressData(line1=self.line1, line2=self.line2, city=self.city, state=self.state,
                           zip_code=self.zip_code)


BOOKING_EXAMPLE = {
    "booking_type": "mini_move", "pickup_date": "2027-03-10", "pickup_window": "morning", "package": "petite",
    "item_count": 10, "specialty_items": [{"code": "peloton", "quantity": 1}], "coi_required": True,
    "customer": {"name": "Alex Morgan", "email": "alex@example.com", "phone": "+12125550123"},
    "pickup_address": {"line1": "245 East 72nd Street", "line2": "Apt 5B", "city": "New York", "state": "NY",
                       "zip_code": "10021"},
    "dropoff_address": {"line1": "27 Further Lane", "line2": "", "city": "East Hampton", "state": "NY",
                        "zip_code": "11937"},
    "notes": "Doorman building, use the service entrance.",
}


class BookingRequestIn(Schema):
    """A booking request; customer and addresses are optional for pricing, required to book."""

    model_config = ConfigDict(json_schema_extra={"examples": [BOOKING_EXAMPLE]})

    booking_type: ServiceTypeLit
    pickup_date: IsoDate
    pickup_window: WindowLit = "flexible"
    package: Text(32) | None = Field(None, description="mini_move only: petite | standard | full")
    item_count: StrictInt = Field(0, ge=0, le=MAX_ITEM_COUNT)
    specialty_items: list[SpecialtyItemIn] = Field(default_factory=list, max_length=MAX_SPECIALTY_LINES)
    coi_required: StrictBool = False
    customer: CustomerIn | None = None
    pickup_address: AddressIn | None = None
    dropoff_address: AddressIn | None = None
    notes: Text(NOTES_MAX_LENGTH) = ""
    quote_id: Text(64) | None = Field(None, description="From bookings/preview/")

    def to_request(self) -> BookingRequest:
        return BookingRequest(
            booking_type=self.booking_type,
            pickup_date=self.pickup_date,
            pickup_window=self.pickup_window,
            package=self.package,
            item_count=self.item_count,
            specialty_items=tuple((i.code, i.quantity) for i in self.specialty_items),
            coi_required=self.coi_required,
            customer=self.customer.to_data() if self.customer else None,
            pickup_address=self.pickup_address.to_data() if self.pickup_address else None,
            dropoff_address=self.dropoff_address.to_data() if self.dropoff_address else None,
            notes=self.notes,
            quote_id=self.quote_id or None,
        )


class BookingUpdateIn(Schema):
    """Only the fields to change; everything else stays as booked."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"pickup_date": "2027-03-11", "pickup_window": "afternoon", "notes": "Call on arrival."}]})

    pickup_date: IsoDate | None = None
    pickup_window: WindowLit | None = None
    package: Text(32) | None = None
    item_count: StrictInt | None = Field(None, ge=0, le=MAX_ITEM_COUNT)
    specialty_items: list[SpecialtyItemIn] | None = Field(None, max_length=MAX_SPECIALTY_LINES)
    coi_required: StrictBool | None = None
    pickup_address: AddressIn | None = None
    dropoff_address: AddressIn | None = None
    notes: Text(NOTES_MAX_LENGTH) | None = None


# --- bookings --------------------------------------------------------------------------------------------

class BookingCreatedOut(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "6f1f7f5e-2b9a-4f0e-9a3c-1d2e3f4a5b6c", "booking_number": "TT-2027-000123", "status": "pending",
        "booking_type": "mini_move", "pickup_date": "2027-03-10", "pickup_window": "morning",
        "price": PRICE_EXAMPLE, "total_price": "1645.00", "access_token": "q3S…",
        "hold_expires_at": "2027-03-01T15:30:00-05:00", "payment_status": "unpaid"}]})

    id: str
    booking_number: str
    status: str
    booking_type: ServiceTypeLit
    pickup_date: dt.date
    pickup_window: WindowLit
    price: PriceBreakdownOut
    total_price: str
    access_token: str = Field(description="Shown once: send it as X-Booking-Token to read or change the booking")
    hold_expires_at: dt.datetime | None
    payment_status: str


class AddressOut(Schema):
    line1: str
    line2: str
    city: str
    state: str
    zip_code: str


class CustomerOut(Schema):
    name: str
    email: str
    phone: str


class BookedSpecialtyItemOut(Schema):
    code: str
    name: str
    quantity: int
    unit_price: str


class BookingOut(Schema):
    id: str
    booking_number: str = Field(examples=["TT-2027-000123"])
    status: str = Field(examples=["pending"])
    payment_status: str = Field(examples=["unpaid"])
    booking_type: ServiceTypeLit
    pickup_date: dt.date
    pickup_window: WindowLit
    package: str | None
    item_count: int
    specialty_items: list[BookedSpecialtyItemOut]
    coi_required: bool
    notes: str
    customer: CustomerOut
    pickup_address: AddressOut
    dropoff_address: AddressOut
    price: PriceBreakdownOut
    total_price: str
    hold_expires_at: dt.datetime | None
    tracking_url: str | None = Field(description="When the driver is on the way")


class NextStepOut(Schema):
    code: str = Field(examples=["payment_needed"])
    message: str = Field(examples=["Pay to confirm your booking before the hold expires."])


class ConfirmationOut(Schema):
    booking_number: str = Field(examples=["TT-2027-000123"])
    status: str
    status_label: str = Field(examples=["Pending payment"])
    payment_status: str
    service_summary: str = Field(examples=["Petite Mini Move, 10 items + Peloton"])
    pickup_date: dt.date
    pickup_window: WindowLit
    pickup_window_label: str = Field(examples=["Morning (8am–12pm)"])
    pickup_address: AddressOut
    dropoff_address: AddressOut
    price: PriceBreakdownOut
    total_price: str
    hold_expires_at: dt.datetime | None
    tracking_url: str | None
    next_steps: list[NextStepOut]
