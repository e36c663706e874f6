"""Every write to bookings: create, update, status transitions, cancel, notes, hold expiry, quotes."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import random
import secrets
import time
import uuid
from collections.abc import Callable
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Exists, OuterRef
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
from core.bookings.idempotency import (
    SCOPE_BOOKINGS_CREATE,
    Replay,
    idempotency_claim,
    idempotency_complete,
    validate_key,
)
from core.bookings.models import (
    NOTES_MAX_LENGTH,
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
from core.bookings.status import HOLD_EXPIRED_REASON, check_transition
from core.catalog import availability
from core.catalog.models import MiniMovePackage, ServiceDay, SpecialtyItem
from core.catalog.pricing import PriceBreakdown, calculate_price
from core.catalog.selectors import (
    PricingState,
    ServiceDayState,
    catalog_snapshot,
    catalog_static,
    pricing_state_as_last_read,
    service_day_state,
)
from core.common.audit import set_actor
from core.customers.services import (
    addresses_create,
    customer_upsert_for_booking,
    validate_address,
    validate_customer,
)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(booking: Booking, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(booking.access_token_hash, hash_token(token))


MAX_PRICING_DAYS_AHEAD = 400  # price dates up to about a year out (booking is limited by the horizon)
_RETRY_ATTEMPTS = 5


def _validate_request(request: BookingRequest, *, require_contact: bool, now: dt.datetime | None = None) -> None:
    errors: dict[str, list[str]] = {}
    if request.pickup_window not in PickupWindow.values:
        errors["pickup_window"] = ["Choose morning, afternoon or flexible."]
    today = availability.service_today(now)
    if request.pickup_date < today:
        errors["pickup_date"] = ["The pickup date is in the past."]
    elif (request.pickup_date - today).days > MAX_PRICING_DAYS_AHEAD:
        errors["pickup_date"] = [f"Choose a date within {MAX_PRICING_DAYS_AHEAD} days."]
    if require_contact:
        if request.customer is None:
            errors["customer"] = ["Enter the customer's name, email and phone."]
        else:
            errors.update(validate_customer(request.customer)[0])
    for prefix, address in (("pickup_address", request.pickup_address),
                            ("dropoff_address", request.dropoff_address)):
        if address is not None:
            errors.update(validate_address(address, prefix=prefix))
        elif require_contact:
            errors[prefix] = ["Enter the address."]
    if len(request.notes) > NOTES_MAX_LENGTH:
        errors["notes"] = [f"Keep notes under {NOTES_MAX_LENGTH:,} characters."]
    if errors:
        raise BookingValidationError("The booking request is not valid.", fields=errors)


def lock_service_day(on: dt.date) -> None:
    """Serialise capacity decisions for one date: every create/move onto `on` queues on this row lock.

    One statement: the upsert creates the row if needed and, on PostgreSQL, DO UPDATE takes the row lock (a
    concurrent creator waits here until the holder commits, then counts the holder's booking).
    SQLite's IMMEDIATE transactions already serialise writers.
    """
    table = ServiceDay._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (date) VALUES (%s) ON CONFLICT (date) DO UPDATE SET date = EXCLUDED.date",  # noqa: S608
            [connection.ops.adapt_datefield_value(on)],
        )


def _suggesting_alternatives(fn, request: BookingRequest, *, now: dt.datetime):
    """Run `fn`; a DateUnavailable leaves with the nearest alternatives, looked up after the transaction
    (and its service-day lock) has ended, so the losers of a race for the last slot don't hold up the queue."""
    try:
        return fn()
    except DateUnavailable as exc:
        result = availability.check_date(request.pickup_date, request.booking_type, now=now)
        exc.fields["alternatives"] = [d.isoformat() for d in result.alternatives]
        raise


def _check_bookable(request: BookingRequest, *, now: dt.datetime, exclude_booking_id=None) -> ServiceDayState:
    """Inside the service-day lock: is there still a slot on the date, for this service type? (one query)"""
    state = service_day_state(request.pickup_date, now=now, exclude_booking_id=exclude_booking_id)
    result = availability.evaluate(
        request.pickup_date, request.booking_type, van=state.van, used=state.used,
        first=availability.first_bookable_date(now), last=availability.last_bookable_date(now),
    )
    reasons = list(result.reasons)
    if request.specialty_items and not result.specialty_items_available and "specialty_unavailable" not in reasons:
        reasons.append("specialty_unavailable")
    if reasons:
        raise DateUnavailable(f"{request.pickup_date:%A, %B %-d, %Y} cannot be booked ({', '.join(reasons)}).",
                              fields={"pickup_date": reasons})
    return state


def price_booking_request(request: BookingRequest, *, now: dt.datetime | None = None) -> PriceBreakdown:
    """Price a request with the catalog as it is now for its date (used by calculate-price and preview)."""
    _validate_request(request, require_contact=False, now=now)
    return calculate_price(request.price_request(), catalog_snapshot(request.pickup_date))


def quote_create(*, request: BookingRequest, now: dt.datetime | None = None) -> Quote:
    """Price the request and store it as a quote that booking_create honours until it expires.

    Usually one statement: the request is priced with the catalog and van schedule as this process last read
    them for the date, and the INSERT itself checks that they are still current. Only when they are not (or
    were never read) does it read them (one query), price again and insert. The quote's `breakdown` is the
    contract's price JSON, ready to return.
    """
    now = now or timezone.now()
    _validate_request(request, require_contact=False, now=now)
    price_request = request.price_request()
    canonical = request.pricing_canonical()
    request_hash = request.pricing_hash(canonical)
    expires_at = now + dt.timedelta(minutes=int(settings.TOTETAXI["QUOTE_MINUTES"]))
    state = pricing_state_as_last_read(request.pickup_date)
    if state is not None:
        quote = _quote(calculate_price(price_request, state.snapshot), request_hash, canonical, now, expires_at)
        if _quote_insert(quote, unless_changed=state):
            return quote
    quote = _quote(calculate_price(price_request, catalog_snapshot(request.pickup_date)), request_hash, canonical,
                   now, expires_at)
    _quote_insert(quote)
    return quote


def _quote(breakdown: PriceBreakdown, request_hash: str, canonical: dict, now: dt.datetime,
           expires_at: dt.datetime) -> Quote:
    return Quote(id=uuid.uuid4(), request_hash=request_hash, request={"pricing_hash": request_hash, **canonical},
                 breakdown=breakdown.as_json(), total_price=breakdown.total_price, expires_at=expires_at,
                 created_at=now, updated_at=now)


_QUOTE_COLUMNS = ("id", "created_at", "updated_at", "request_hash", "request", "breakdown", "total_price",
                  "expires_at")


def _quote_insert(quote: Quote, *, unless_changed: PricingState | None = None) -> bool:
    """One plain INSERT (a quote has no history or signals; this is the preview endpoint's only write).

    With `unless_changed`, the row is written only if the catalog version and the date's van-schedule
    override are still those the quote was priced with, checked in this statement; False when they were not.
    On PostgreSQL, when the statement is its own transaction (autocommit), it commits without waiting for the
    WAL flush: a quote lost to a database crash costs the customer one more preview. Bookings never do this.
    """
    fields = [Quote._meta.get_field(name) for name in _QUOTE_COLUMNS]
    values = [f.get_db_prep_value(getattr(quote, f.attname), connection) for f in fields]
    columns = ", ".join(f.column for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    table = Quote._meta.db_table
    sources, condition, params = [], "", values
    if unless_changed is not None:
        check_from, from_params, check_where, where_params = unless_changed.still_current()
        sources.append(check_from)
        condition = f" WHERE {check_where}"
        params = [*values, *from_params, *where_params]
    if connection.vendor == "postgresql" and connection.get_autocommit():
        sources.append("(SELECT set_config('synchronous_commit', 'off', true)) AS async_commit")
    if sources:
        sql = f"INSERT INTO {table} ({columns}) SELECT {placeholders} FROM {', '.join(sources)}{condition}"  # noqa: S608
    else:
        sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608 (our names)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


QUOTE_RETENTION = dt.timedelta(days=1)


def quote_purge(*, now: dt.datetime | None = None, batch_size: int = 5000) -> int:
    """Delete quotes expired for over a day that no booking was made from; returns how many.

    Every preview writes one, so the table would otherwise grow with every price the site shows. Quotes a
    booking points at are kept (they are its price's record). Deletes in batches to keep each one short.
    """
    cutoff = (now or timezone.now()) - QUOTE_RETENTION
    used = Booking.objects.filter(quote_id=OuterRef("pk"))
    stale = Quote.objects.filter(expires_at__lt=cutoff).exclude(Exists(used)).order_by()
    deleted = 0
    while ids := list(stale.values_list("pk", flat=True)[:batch_size]):
        deleted += Quote.objects.filter(pk__in=ids).delete()[0]
    return deleted


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


def _write_specialty_lines(booking: Booking, breakdown: dict, *, item_ids: dict[str, int]) -> None:
    lines = [ln for ln in breakdown["lines"] if ln["kind"] == "specialty_item"]
    if not lines:
        return
    missing = [ln["code"] for ln in lines if ln["code"] not in item_ids]
    if missing:  # a quoted item retired since: look it up by code (it still exists, PROTECTed by old bookings)
        item_ids = {**item_ids, **dict(SpecialtyItem.objects.filter(code__in=missing).values_list("code", "pk"))}
    BookingSpecialtyItem.objects.bulk_create([
        BookingSpecialtyItem(booking=booking, item_id=item_ids[ln["code"]], quantity=ln["quantity"],
                             unit_price=Decimal(ln["unit_price"]))
        for ln in lines
    ])


def _is_retryable(exc: Exception) -> bool:
    """Serialization failures, deadlocks and a lost unique race (two first bookings for one email)."""
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None) or getattr(getattr(cause, "diag", None), "sqlstate", None)
    if sqlstate in {"40001", "40P01", "23505"}:
        return True
    return isinstance(exc, IntegrityError) and "UNIQUE constraint failed: customers_customerprofile" in str(exc)


def _with_retries(fn):
    """Run `fn` in a transaction, retrying the whole transaction when the database asks us to."""
    for attempt in range(_RETRY_ATTEMPTS):
        try:
            with transaction.atomic():
                return fn()
        except (OperationalError, IntegrityError) as exc:
            if attempt == _RETRY_ATTEMPTS - 1 or not _is_retryable(exc):
                raise
            time.sleep(random.uniform(0, 0.02 * (attempt + 1)))
    raise AssertionError("unreachable")


def _booking_insert(request: BookingRequest, *, token: str, now: dt.datetime, actor) -> Booking:
    """The body of booking_create, run inside its transaction (and retried with it)."""
    quote, breakdown = (None, None)
    if request.quote_id:
        quote, breakdown = _quoted_breakdown(request, now=now)
    lock_service_day(request.pickup_date)
    state = _check_bookable(request, now=now)
    snapshot = catalog_snapshot(request.pickup_date, van=state.van, version=state.catalog_version)
    if breakdown is None:
        breakdown = calculate_price(request.price_request(), snapshot).as_json()
    static = catalog_static(version=state.catalog_version)
    package_id = None
    if request.booking_type == "mini_move":
        package_id = static["package_ids"].get(request.package)
        if package_id is None:  # quoted, then retired: it still exists (PROTECT), so look it up
            package_id = MiniMovePackage.objects.values_list("pk", flat=True).get(code=request.package)
    booking = Booking(
        id=uuid.uuid4(),
        booking_type=request.booking_type,
        pickup_date=request.pickup_date,
        pickup_window=request.pickup_window,
        package_id=package_id,
        item_count=request.item_count,
        coi_required=request.coi_required,
        notes=request.notes,
        quote=quote,
        access_token_hash=hash_token(token),
        hold_expires_at=now + dt.timedelta(minutes=int(settings.TOTETAXI["HOLD_MINUTES"])),
    )
    booking.customer = customer_upsert_for_booking(data=request.customer, booking_id=booking.id, actor=actor)
    booking.pickup_address, booking.dropoff_address = addresses_create(
        data=[request.pickup_address, request.dropoff_address], actor=actor)
    booking.booking_number = next_booking_number(timezone.localtime(now).year)
    _apply_price(booking, breakdown)
    set_actor(booking, actor)
    booking.save(force_insert=True)
    _write_specialty_lines(booking, breakdown, item_ids=static["specialty_ids"])
    BookingStatusChange.objects.create(booking=booking, from_status="", to_status=BookingStatus.PENDING,
                                       actor=actor, reason="created")
    return booking


def booking_create(*, request: BookingRequest, actor=None, now: dt.datetime | None = None
                   ) -> tuple[Booking, str]:
    """Validate, reserve a slot, price (or honour the quote), and create the booking; returns (booking, token).

    The slot check and the insert happen under the date's row lock in one transaction, so concurrent creates
    for the last slot cannot both succeed.
    """
    now = now or timezone.now()
    _validate_request(request, require_contact=True, now=now)
    token = secrets.token_urlsafe(32)
    booking = _suggesting_alternatives(
        lambda: _with_retries(lambda: _booking_insert(request, token=token, now=now, actor=actor)), request, now=now)
    return booking, token


def booking_create_idempotent(*, request: BookingRequest, idempotency_key: str, request_hash: str,
                              render: Callable[[Booking, str], dict], actor=None,
                              now: dt.datetime | None = None) -> tuple[int, dict]:
    """booking_create under an Idempotency-Key: returns (status, body); a repeat replays the first body.

    The key is claimed first in the same transaction as the booking, so concurrent repeats wait for the first
    request to commit and then replay its stored body (which includes the access token, known only then).
    """
    now = now or timezone.now()
    key = validate_key(idempotency_key)
    _validate_request(request, require_contact=True, now=now)
    token = secrets.token_urlsafe(32)

    def work() -> tuple[int, dict]:
        claim = idempotency_claim(scope=SCOPE_BOOKINGS_CREATE, key=key, request_hash=request_hash, now=now)
        if isinstance(claim, Replay):
            return claim.status, claim.body
        booking = _booking_insert(request, token=token, now=now, actor=actor)
        body = render(booking, token)
        idempotency_complete(record_id=claim, status=201, body=body, booking_id=booking.pk)
        return 201, body

    return _suggesting_alternatives(lambda: _with_retries(work), request, now=now)


def booking_update(*, booking: Booking, request: BookingRequest, actor=None, now: dt.datetime | None = None
                   ) -> Booking:
    """Change a pending booking (date, window, addresses, notes, items); re-priced and re-checked atomically."""
    now = now or timezone.now()
    _validate_request(request, require_contact=False, now=now)
    if booking.status != BookingStatus.PENDING:
        raise InvalidTransition("Only a pending booking can be changed; contact us to change this one.")

    def work() -> Booking:
        lock_service_day(request.pickup_date)
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        if locked.status != BookingStatus.PENDING:
            raise InvalidTransition("Only a pending booking can be changed; contact us to change this one.")
        state = _check_bookable(request, now=now, exclude_booking_id=locked.pk)
        snapshot = catalog_snapshot(request.pickup_date, van=state.van, version=state.catalog_version)
        breakdown = calculate_price(request.price_request(), snapshot).as_json()
        static = catalog_static(version=state.catalog_version)
        locked.booking_type = request.booking_type
        locked.pickup_date = request.pickup_date
        locked.pickup_window = request.pickup_window
        locked.package_id = (static["package_ids"][request.package]
                             if request.booking_type == "mini_move" else None)
        locked.item_count = request.item_count
        locked.coi_required = request.coi_required
        locked.notes = request.notes
        if request.pickup_address is not None:
            (locked.pickup_address,) = addresses_create(data=[request.pickup_address], actor=actor)
        if request.dropoff_address is not None:
            (locked.dropoff_address,) = addresses_create(data=[request.dropoff_address], actor=actor)
        _apply_price(locked, breakdown)
        # A change restarts the hold: the customer is actively completing this booking.
        locked.hold_expires_at = now + dt.timedelta(minutes=int(settings.TOTETAXI["HOLD_MINUTES"]))
        set_actor(locked, actor)
        locked.save()
        locked.specialty_lines.all().delete()
        _write_specialty_lines(locked, breakdown, item_ids=static["specialty_ids"])
        return locked

    return _suggesting_alternatives(lambda: _with_retries(work), request, now=now)


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
                               reason=HOLD_EXPIRED_REASON, now=now)
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

