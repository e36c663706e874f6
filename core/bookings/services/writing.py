"""Creating and changing bookings: slot reserved under the day lock, priced (or quoted), written atomically."""

from __future__ import annotations

import datetime as dt
import random
import secrets
import time
import uuid
from collections.abc import Callable
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from core.bookings.errors import (
    InvalidTransition,
)
from core.bookings.idempotency import (
    SCOPE_BOOKINGS_CREATE,
    Replay,
    idempotency_claim,
    idempotency_complete,
    validate_key,
)
from core.bookings.models import (
    Booking,
    BookingSpecialtyItem,
    BookingStatus,
    BookingStatusChange,
)
from core.bookings.numbers import next_booking_number
from core.bookings.requests import BookingRequest
from core.bookings.services.access import hash_token
from core.bookings.services.quotes import quoted_breakdown
from core.bookings.services.rules import (
    check_bookable,
    lock_service_day,
    suggesting_alternatives,
    validate_request,
)
from core.catalog.models import MiniMovePackage, SpecialtyItem
from core.catalog.pricing import calculate_price
from core.catalog.selectors import (
    catalog_snapshot,
    catalog_static,
)
from core.common.audit import bulk_create_audited, set_actor
from core.common.services import model_update
from core.customers.services import (
    addresses_create,
    customer_upsert_for_booking,
)

_RETRY_ATTEMPTS = 5


def _price_fields(breakdown: dict) -> dict:
    """The booking's price columns from the contract's price JSON."""
    return {
        "base_price": Decimal(breakdown["base_price"]),
        "specialty_items_total": Decimal(breakdown["specialty_items_total"]),
        "surcharges": breakdown["surcharges"],
        "surcharge_total": Decimal(breakdown["surcharge_total"]),
        "coi_fee": Decimal(breakdown["coi_fee"]),
        "total_price": Decimal(breakdown["total_price"]),
        "price_breakdown": breakdown,
    }


def _specialty_lines(booking: Booking, breakdown: dict, *, item_ids: dict[str, int]) -> list[BookingSpecialtyItem]:
    lines = [ln for ln in breakdown["lines"] if ln["kind"] == "specialty_item"]
    missing = [ln["code"] for ln in lines if ln["code"] not in item_ids]
    if missing:  # a quoted item retired since: look it up by code (it still exists, PROTECTed by old bookings)
        item_ids = {**item_ids, **dict(SpecialtyItem.objects.filter(code__in=missing).values_list("code", "pk"))}
    return [BookingSpecialtyItem(booking=booking, item_id=item_ids[ln["code"]], quantity=ln["quantity"],
                                 unit_price=Decimal(ln["unit_price"])) for ln in lines]


def _write_specialty_lines(booking: Booking, breakdown: dict, *, item_ids: dict[str, int], actor) -> None:
    if lines := _specialty_lines(booking, breakdown, item_ids=item_ids):
        bulk_create_audited(BookingSpecialtyItem, lines, actor=actor)


def _replace_specialty_lines(booking: Booking, breakdown: dict, *, item_ids: dict[str, int], actor) -> None:
    """Make the booking's lines those of `breakdown`, touching only what changed (each change leaves history)."""
    wanted = {line.item_id: line for line in _specialty_lines(booking, breakdown, item_ids=item_ids)}
    for line in booking.specialty_lines.all():
        new = wanted.pop(line.item_id, None)
        if new is None:
            set_actor(line, actor)
            line.delete()  # one at a time: simple-history records a deletion per deleted instance
        else:
            model_update(instance=line, fields=["quantity", "unit_price"], actor=actor,
                         data={"quantity": new.quantity, "unit_price": new.unit_price})
    if wanted:
        bulk_create_audited(BookingSpecialtyItem, list(wanted.values()), actor=actor)


def _is_retryable(exc: Exception) -> bool:
    """Serialization failures, deadlocks and a lost unique race (two first bookings for one email).

    PostgreSQL only. On SQLite every write transaction is IMMEDIATE (settings), so writers run one at a time
    and the profile lookup cannot lose a race to a concurrent insert: a unique failure there is not transient,
    and retrying would only repeat it.
    """
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None) or getattr(getattr(cause, "diag", None), "sqlstate", None)
    return sqlstate in {"40001", "40P01", "23505"}


def with_retries(fn):
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


def _booking_insert(request: BookingRequest, *, token: str, now: dt.datetime, actor, source: str = "web",
                    hold_minutes: int | None = None) -> Booking:
    """The body of booking_create, run inside its transaction (and retried with it)."""
    quote, breakdown = (None, None)
    if request.quote_id:
        quote, breakdown = quoted_breakdown(request, now=now)
    lock_service_day(request.pickup_date)
    state = check_bookable(request, now=now)
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
        change_policy_id=static.get("change_policy_id"),
        access_token_hash=hash_token(token),
        source=source,
        hold_expires_at=now + dt.timedelta(minutes=hold_minutes or int(settings.TOTETAXI["HOLD_MINUTES"])),
    )
    booking.customer = customer_upsert_for_booking(data=request.customer, booking_id=booking.id, actor=actor)
    booking.pickup_address, booking.dropoff_address = addresses_create(
        data=[request.pickup_address, request.dropoff_address], actor=actor)
    booking.booking_number = next_booking_number(timezone.localtime(now).year)
    for name, value in _price_fields(breakdown).items():
        setattr(booking, name, value)
    set_actor(booking, actor)
    booking.save(force_insert=True)
    _write_specialty_lines(booking, breakdown, item_ids=static["specialty_ids"], actor=actor)
    BookingStatusChange.objects.create(booking=booking, from_status="", to_status=BookingStatus.PENDING,
                                       actor=actor, reason="created")
    return booking


def booking_create(*, request: BookingRequest, actor=None, now: dt.datetime | None = None, source: str = "web",
                   hold_minutes: int | None = None) -> tuple[Booking, str]:
    """Validate, reserve a slot, price (or honour the quote), and create the booking; returns (booking, token).

    The slot check and the insert happen under the date's row lock in one transaction, so concurrent creates
    for the last slot cannot both succeed. `source`: "web" or "phone" (staff); `hold_minutes`: how long the
    unpaid slot is held (HOLD_MINUTES by default; a phone booking waits for a payment link to be used).
    """
    now = now or timezone.now()
    validate_request(request, require_contact=True, now=now)
    token = secrets.token_urlsafe(32)
    booking = suggesting_alternatives(
        lambda: with_retries(lambda: _booking_insert(request, token=token, now=now, actor=actor, source=source,
                                                     hold_minutes=hold_minutes)), request, now=now)
    return booking, token


def booking_create_idempotent(*, request: BookingRequest, idempotency_key: str, request_hash: str,
                              render: Callable[[Booking, str], dict], actor=None,
                              now: dt.datetime | None = None, source: str = "web",
                              hold_minutes: int | None = None) -> tuple[int, dict]:
    """booking_create under an Idempotency-Key: returns (status, body); a repeat replays the first body.

    The key is claimed first in the same transaction as the booking, so concurrent repeats wait for the first
    request to commit and then replay its stored body. The access token is not stored (the record would be a
    key to the booking in plain text): a replay answers a fresh signed manage token (changes_access), which is
    accepted wherever the access token is.
    """
    now = now or timezone.now()
    key = validate_key(idempotency_key)
    validate_request(request, require_contact=True, now=now)
    token = secrets.token_urlsafe(32)

    def work() -> tuple[int, dict]:
        claim = idempotency_claim(scope=SCOPE_BOOKINGS_CREATE, key=key, request_hash=request_hash, now=now)
        if isinstance(claim, Replay):
            return claim.status, _with_fresh_token(claim.body)
        booking = _booking_insert(request, token=token, now=now, actor=actor, source=source,
                                  hold_minutes=hold_minutes)
        body = render(booking, token)
        stored = {**body, "access_token": None} if "access_token" in body else body
        idempotency_complete(record_id=claim, status=201, body=stored, booking_id=booking.pk)
        return 201, body

    return suggesting_alternatives(lambda: with_retries(work), request, now=now)


def _with_fresh_token(body: dict) -> dict:
    """A replayed 201 body: where the first answer had the access token, a manage token minted now."""
    if "access_token" not in body or "id" not in body:
        return body
    from core.bookings.changes_access import manage_token

    booking = Booking.objects.filter(pk=body["id"]).first()
    return {**body, "access_token": manage_token(booking) if booking is not None else None}


def booking_apply_request_locked(*, booking: Booking, request: BookingRequest, actor, now: dt.datetime) -> dict:
    """Make the booking what `request` asks (date, window, addresses, items), re-checked and re-priced; returns
    the new price JSON. The caller holds the service-day lock of the request's date (and of the booking's old
    date when it moves, taken in date order) and the booking row lock; the slot on the old date is freed by
    the move itself (capacity counts bookings by date)."""
    state = check_bookable(request, now=now, exclude_booking_id=booking.pk, current_date=booking.pickup_date)
    snapshot = catalog_snapshot(request.pickup_date, van=state.van, version=state.catalog_version)
    breakdown = calculate_price(request.price_request(), snapshot).as_json()
    static = catalog_static(version=state.catalog_version)
    data = {
        "booking_type": request.booking_type, "pickup_date": request.pickup_date,
        "pickup_window": request.pickup_window, "item_count": request.item_count,
        "coi_required": request.coi_required, "notes": request.notes,
        # ids, not instances: comparing instances would load the old ones, validating them would query
        "package_id": static["package_ids"][request.package] if request.booking_type == "mini_move" else None,
        **_price_fields(breakdown),
    }
    moved = {f"{name}_id": address for name, address in (("pickup_address", request.pickup_address),
                                                         ("dropoff_address", request.dropoff_address))
             if address is not None}
    if moved:
        created = addresses_create(data=list(moved.values()), actor=actor)
        data.update(zip(moved, (address.pk for address in created), strict=True))
    # hold_expires_at is left alone: the hold is granted once, at creation. Restarting it on every change
    # would let one client keep a date full for ever without paying (a PATCH that changes nothing is enough).
    model_update(instance=booking, fields=list(data), data=data, actor=actor)
    _replace_specialty_lines(booking, breakdown, item_ids=static["specialty_ids"], actor=actor)
    return breakdown


def booking_update(*, booking: Booking, request: BookingRequest, actor=None, now: dt.datetime | None = None
                   ) -> Booking:
    """Change a pending booking (date, window, addresses, notes, items); re-priced and re-checked atomically."""
    now = now or timezone.now()
    validate_request(request, require_contact=False, now=now)
    if booking.status != BookingStatus.PENDING:
        raise InvalidTransition("Only a pending booking can be changed; contact us to change this one.")

    def work() -> Booking:
        lock_service_day(request.pickup_date)
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        if locked.status != BookingStatus.PENDING:
            raise InvalidTransition("Only a pending booking can be changed; contact us to change this one.")
        booking_apply_request_locked(booking=locked, request=request, actor=actor, now=now)
        return locked

    return suggesting_alternatives(lambda: with_retries(work), request, now=now)
