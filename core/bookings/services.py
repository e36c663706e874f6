"""Every write to bookings: create, update, status transitions, cancel, notes, hold expiry, quotes."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.bookings.errors import (
    BookingNotFound,
    BookingValidationError,
    DateUnavailable,
    InvalidTransition,
    QuoteExpired,
    QuoteMismatch,
    QuoteNotFound,
)
from core.bookings.models import (
    Booking,
    BookingNote,
    BookingSpecialtyItem,
    BookingStatus,
    BookingStatusChange,
    PickupWindow,
    Quote,
)
from core.bookings.numbers import next_booking_number
from core.bookings.requests import BookingRequest
from core.bookings.status import check_transition
from core.catalog import availability
from core.catalog.models import MiniMovePackage, ServiceDay, SpecialtyItem
from core.catalog.pricing import PriceBreakdown, calculate_price
from core.catalog.selectors import catalog_snapshot
from core.common.audit import set_actor
from core.customers.services import (
    address_create,
    customer_upsert_for_booking,
    validate_address,
    validate_customer,
)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(booking: Booking, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(booking.access_token_hash, hash_token(token))


def _validate_request(request: BookingRequest, *, require_contact: bool) -> None:
    errors: dict[str, list[str]] = {}
    if request.pickup_window not in PickupWindow.values:
        errors["pickup_window"] = ["Choose morning, afternoon or flexible."]
    if require_contact:
        if request.customer is None:
            errors["customer"] = ["Enter the customer's name, email and phone."]
        else:
            errors.update(validate_customer(request.customer)[0])
        for prefix, address in (("pickup_address", request.pickup_address),
                                ("dropoff_address", request.dropoff_address)):
            if address is None:
                errors[prefix] = ["Enter the address."]
            else:
                errors.update(validate_address(address, prefix=prefix))
    if len(request.notes) > 2000:
        errors["notes"] = ["Keep notes under 2,000 characters."]
    if errors:
        raise BookingValidationError("The booking request is not valid.", fields=errors)


def _lock_service_day(on: dt.date) -> None:
    """Serialise capacity decisions for one date: every create/move onto `on` queues on this row lock."""
    ServiceDay.objects.bulk_create([ServiceDay(date=on)], ignore_conflicts=True)
    if connection.vendor != "sqlite":  # SQLite's IMMEDIATE transactions already serialise writers
        ServiceDay.objects.select_for_update().filter(date=on).first()


def _check_bookable(request: BookingRequest, *, now: dt.datetime, exclude_booking: Booking | None = None):
    """Inside the service-day lock: is there still a slot on the date, for this service type?"""
    result = availability.check_date(request.pickup_date, request.booking_type, now=now, with_alternatives=False)
    used = result.used
    if exclude_booking is not None and exclude_booking.pickup_date == request.pickup_date:
        used -= 1  # moving within the same date does not need a second slot
    reasons = [r for r in result.reasons if r != "fully_booked"]
    if result.capacity > 0 and used >= result.capacity:
        reasons.append("fully_booked")
    if request.specialty_items and not result.specialty_items_available and "specialty_unavailable" not in reasons:
        reasons.append("specialty_unavailable")
    if reasons:
        alternatives = availability.check_date(request.pickup_date, request.booking_type, now=now)
        raise DateUnavailable(
            f"{request.pickup_date:%A, %B %-d, %Y} cannot be booked ({', '.join(reasons)}).",
            fields={"pickup_date": reasons,
                    "alternatives": [d.isoformat() for d in alternatives.alternatives]},
        )
    return result


def price_booking_request(request: BookingRequest) -> PriceBreakdown:
    """Price a request with the catalog as it is now for its date (used by calculate-price and preview)."""
    _validate_request(request, require_contact=False)
    return calculate_price(request.price_request(), catalog_snapshot(request.pickup_date))


def quote_create(*, request: BookingRequest, now: dt.datetime | None = None) -> tuple[Quote, PriceBreakdown]:
    breakdown = price_booking_request(request)
    now = now or timezone.now()
    quote = Quote.objects.create(
        request_hash=request.pricing_hash(),
        request={"pricing_hash": request.pricing_hash(), "booking_type": request.booking_type,
                 "pickup_date": request.pickup_date.isoformat()},
        breakdown=breakdown.as_json(),
        total_price=breakdown.total_price,
        expires_at=now + dt.timedelta(minutes=int(settings.TOTETAXI["QUOTE_MINUTES"])),
    )
    return quote, breakdown


def _quoted_breakdown(request: BookingRequest, *, now: dt.datetime) -> tuple[Quote, dict]:
    try:
        quote = Quote.objects.get(pk=uuid.UUID(str(request.quote_id)))
    except (Quote.DoesNotExist, ValueError) as exc:
        raise QuoteNotFound("No such quote; request a new preview.", fields={"quote_id": ["Unknown quote."]}) \
            from exc
    if quote.expires_at <= now:
        raise QuoteExpired("The quote has expired; request a new preview.", fields={"quote_id": ["Expired."]})
    if quote.request_hash != request.pricing_hash():
        raise QuoteMismatch("The quote was made for a different booking request.",
                            fields={"quote_id": ["Does not match this request."]})
    return quote, quote.breakdown


def _apply_price(booking: Booking, breakdown: dict) -> None:
    booking.base_price = Decimal(breakdown["base_price"])
    booking.specialty_items_total = Decimal(breakdown["specialty_items_total"])
    booking.surcharges = breakdown["surcharges"]
    booking.surcharge_total = Decimal(breakdown["surcharge_total"])
    booking.coi_fee = Decimal(breakdown["coi_fee"])
    booking.total_price = Decimal(breakdown["total_price"])
    booking.price_breakdown = breakdown


def _write_specialty_lines(booking: Booking, breakdown: dict) -> None:
    lines = [ln for ln in breakdown["lines"] if ln["kind"] == "specialty_item"]
    if not lines:
        return
    items = {i.code: i for i in SpecialtyItem.objects.filter(code__in=[ln["code"] for ln in lines])}
    BookingSpecialtyItem.objects.bulk_create([
        BookingSpecialtyItem(booking=booking, item=items[ln["code"]], quantity=ln["quantity"],
                             unit_price=Decimal(ln["unit_price"]))
        for ln in lines
    ])


def booking_create(*, request: BookingRequest, actor=None, now: dt.datetime | None = None
                   ) -> tuple[Booking, str]:
    """Validate, reserve a slot, price (or honour the quote), and create the booking; returns (booking, token).

    The slot check and the insert happen under the date's row lock in one transaction, so concurrent creates
    for the last slot cannot both succeed.
    """
    now = now or timezone.now()
    _validate_request(request, require_contact=True)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        if request.quote_id:
            quote, breakdown = _quoted_breakdown(request, now=now)
        else:
            quote, breakdown = None, price_booking_request(request).as_json()
        _lock_service_day(request.pickup_date)
        _check_bookable(request, now=now)
        customer = customer_upsert_for_booking(data=request.customer)
        pickup = address_create(data=request.pickup_address)
        dropoff = address_create(data=request.dropoff_address)
        package = (MiniMovePackage.objects.get(code=request.package)
                   if request.booking_type == "mini_move" else None)
        booking = Booking(
            booking_type=request.booking_type,
            customer=customer,
            pickup_address=pickup,
            dropoff_address=dropoff,
            pickup_date=request.pickup_date,
            pickup_window=request.pickup_window,
            package=package,
            item_count=request.item_count,
            coi_required=request.coi_required,
            notes=request.notes,
            quote=quote,
            access_token_hash=hash_token(token),
            hold_expires_at=now + dt.timedelta(minutes=int(settings.TOTETAXI["HOLD_MINUTES"])),
            booking_number=next_booking_number(timezone.localtime(now).year),
        )
        _apply_price(booking, breakdown)
        set_actor(booking, actor)
        booking.save(force_insert=True)
        _write_specialty_lines(booking, breakdown)
        BookingStatusChange.objects.create(booking=booking, from_status="", to_status=BookingStatus.PENDING,
                                           actor=actor, reason="created")
        if customer.created_from_booking_id is None and customer.total_bookings_count == 1:
            customer.created_from_booking = booking
            customer.save(update_fields=["created_from_booking", "updated_at"])
    return booking, token


def booking_update(*, booking: Booking, request: BookingRequest, actor=None, now: dt.datetime | None = None
                   ) -> Booking:
    """Change a pending booking (date, window, addresses, notes, items); re-priced and re-checked atomically."""
    now = now or timezone.now()
    _validate_request(request, require_contact=False)
    for prefix, address in (("pickup_address", request.pickup_address),
                            ("dropoff_address", request.dropoff_address)):
        if address is not None and (errors := validate_address(address, prefix=prefix)):
            raise BookingValidationError("The booking request is not valid.", fields=errors)
    with transaction.atomic():
        _lock_service_day(request.pickup_date)
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        if locked.status != BookingStatus.PENDING:
            raise InvalidTransition("Only a pending booking can be changed; contact us to change this one.")
        _check_bookable(request, now=now, exclude_booking=locked)
        breakdown = price_booking_request(request).as_json()
        locked.booking_type = request.booking_type
        locked.pickup_date = request.pickup_date
        locked.pickup_window = request.pickup_window
        locked.package = (MiniMovePackage.objects.get(code=request.package)
                          if request.booking_type == "mini_move" else None)
        locked.item_count = request.item_count
        locked.coi_required = request.coi_required
        locked.notes = request.notes
        if request.pickup_address is not None:
            locked.pickup_address = address_create(data=request.pickup_address)
        if request.dropoff_address is not None:
            locked.dropoff_address = address_create(data=request.dropoff_address)
        _apply_price(locked, breakdown)
        # A change restarts the hold: the customer is actively completing this booking.
        locked.hold_expires_at = now + dt.timedelta(minutes=int(settings.TOTETAXI["HOLD_MINUTES"]))
        set_actor(locked, actor)
        locked.save()
        locked.specialty_lines.all().delete()
        _write_specialty_lines(locked, breakdown)
    return locked


def booking_transition(*, booking: Booking, to_status: str, actor=None, reason: str = "",
                       now: dt.datetime | None = None) -> Booking:
    """Move a booking along the status machine (row-locked); illegal moves raise InvalidTransition."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        if locked.status == to_status:
            return locked  # idempotent: a retried task or a double click changes nothing
        check_transition(locked.status, to_status)
        from_status = locked.status
        locked.status = to_status
        fields = ["status", "updated_at"]
        if to_status == BookingStatus.CANCELLED:
            locked.cancelled_at = now
            locked.cancellation_reason = reason
            fields += ["cancelled_at", "cancellation_reason"]
        set_actor(locked, actor)
        locked.save(update_fields=fields)
        BookingStatusChange.objects.create(booking=locked, from_status=from_status, to_status=to_status,
                                           actor=actor, reason=reason)
    return locked


def booking_cancel(*, booking: Booking, actor=None, reason: str, now: dt.datetime | None = None) -> Booking:
    if not reason.strip():
        raise BookingValidationError("Give a reason for the cancellation.", fields={"reason": ["Required."]})
    return booking_transition(booking=booking, to_status=BookingStatus.CANCELLED, actor=actor, reason=reason,
                              now=now)


def booking_add_note(*, booking: Booking, actor, body: str) -> BookingNote:
    if not body.strip():
        raise BookingValidationError("The note is empty.", fields={"body": ["Required."]})
    return BookingNote.objects.create(booking=booking, author=actor, body=body.strip())


def booking_flag(*, booking: Booking, reason: str, due: dt.datetime | None = None, actor=None) -> Booking:
    """Put a booking on the staff's "needs attention" list (disputes, late payments, …)."""
    with transaction.atomic():
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        locked.needs_attention = True
        locked.attention_reason = reason[:255]
        locked.attention_due = due
        set_actor(locked, actor)
        locked.save(update_fields=["needs_attention", "attention_reason", "attention_due", "updated_at"])
    return locked


def booking_expire_holds(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Cancel pending bookings whose hold expired, freeing their slots; returns how many."""
    now = now or timezone.now()
    expired = list(
        Booking.objects.filter(status=BookingStatus.PENDING, hold_expires_at__lt=now)
        .values_list("pk", flat=True)[:limit]
    )
    count = 0
    for pk in expired:
        with transaction.atomic():
            booking = Booking.objects.select_for_update(skip_locked=True).filter(
                pk=pk, status=BookingStatus.PENDING, hold_expires_at__lt=now).first()
            if booking is None:
                continue  # paid meanwhile, or another sweeper has it
            booking_transition(booking=booking, to_status=BookingStatus.CANCELLED, actor=None,
                               reason="hold_expired", now=now)
            count += 1
    return count


def booking_get_for_customer(*, booking_id, token: str | None) -> Booking:
    """The customer's view: a wrong or missing token is indistinguishable from an unknown id (404)."""
    from core.bookings.selectors import booking_detail_queryset

    try:
        booking = booking_detail_queryset().get(pk=uuid.UUID(str(booking_id)))
    except (Booking.DoesNotExist, ValueError) as exc:
        raise BookingNotFound("No such booking.") from exc
    if not token_matches(booking, token):
        raise BookingNotFound("No such booking.")
    return booking

