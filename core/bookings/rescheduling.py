"""Changing a paid booking (its date and window; staff also its addresses and items) under its change policy.

A preview prices the change and stores it as a quote; the change itself takes the quote. Under the service-day
locks of the old and the new date (in date order, so two changes crossing between the same two days cannot
deadlock; the new date's is the lock booking creation takes) and the booking row lock, it re-checks the new
day's capacity and building rules, re-prices with the new date's catalog, refuses when that differs from the
quote, moves the booking (the old slot is freed by the move: capacity counts bookings by date), records the
refund or the balance owed, and marks the quote used, all in one transaction; a retry replays it.
After the commit, with no lock held: refunds go to Stripe, the balance's PaymentIntent is made (its key names our
row), the Onfleet tasks follow (an on-commit job), the customer is told.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from core.bookings.change_models import ChangeAction, ChangeQuote
from core.bookings.change_overrides import (
    ChangeOverride,
    apply_reschedule_override,
    check_override_actor,
    check_override_amount,
)
from core.bookings.changes import (
    check_quote_current,
    payment_basis,
    pickup_moment,
    policy_for,
    quote_carried_out,
    quote_reference,
    quote_uuid,
    refunds_create,
)
from core.bookings.errors import (
    BalanceDue,
    BookingValidationError,
    InvalidTransition,
    QuoteMismatch,
    QuoteNotFound,
)
from core.bookings.idempotency import (
    Replay,
    idempotency_claim,
    idempotency_complete,
    request_fingerprint,
    validate_key,
)
from core.bookings.models import Booking, BookingStatus
from core.bookings.requests import BookingRequest, booking_request_with_changes
from core.bookings.selectors import booking_specialty_codes
from core.bookings.services.rules import (
    check_bookable,
    lock_service_day,
    suggesting_alternatives,
    validate_request,
)
from core.bookings.services.writing import booking_apply_request_locked, with_retries
from core.catalog.change_pricing import ChangePrice, price_reschedule
from core.catalog.pricing import calculate_price
from core.catalog.selectors import catalog_snapshot
from core.common.money import ZERO, from_cents, money_str, to_cents
from core.customers.services import AddressData
from core.payments.models import Payment, Refund
from core.payments.selectors import booking_balances_owed
from core.payments.services import (
    balance_intent_for,
    balance_payment_record_locked,
    booking_payment_state_sync,
    refund_submit,
)

__all__ = ["BookingChange", "ChangeOutcome", "ChangeOverride", "booking_change_preview",
           "booking_change_with_quote"]

SCOPE_BOOKINGS_RESCHEDULE = "bookings.reschedule"
RESCHEDULABLE = (BookingStatus.PAID, BookingStatus.SCHEDULED)
_ADDRESS_KEYS = ("line1", "line2", "city", "state", "zip_code")


@dataclass(frozen=True)
class BookingChange:
    """What to change: the date and window always (the current ones to keep them); None leaves a field as it is."""

    pickup_date: dt.date
    pickup_window: str
    pickup_address: dict | None = None  # {line1, line2, city, state, zip_code}, as the API takes it
    dropoff_address: dict | None = None
    item_count: int | None = None
    package: str | None = None  # a mini move's package code
    specialty_items: tuple[tuple[str, int], ...] | None = None  # ((code, quantity), …): the whole new list

    def as_json(self) -> dict:
        return {"pickup_date": self.pickup_date.isoformat(), "pickup_window": self.pickup_window,
                "pickup_address": self.pickup_address, "dropoff_address": self.dropoff_address,
                "item_count": self.item_count, "package": self.package,
                "specialty_items": None if self.specialty_items is None else [list(i) for i in self.specialty_items]}

    @classmethod
    def from_json(cls, data: dict) -> BookingChange:
        items = data.get("specialty_items")
        return cls(pickup_date=dt.date.fromisoformat(data["pickup_date"]), pickup_window=data["pickup_window"],
                   pickup_address=data.get("pickup_address"), dropoff_address=data.get("dropoff_address"),
                   item_count=data.get("item_count"), package=data.get("package"),
                   specialty_items=None if items is None else tuple((str(c), int(q)) for c, q in items))


@dataclass(frozen=True)
class ChangeOutcome:
    booking: Booking
    quote: ChangeQuote
    refunds: list[Refund]
    payment_required: dict | None  # {payment_intent_id, client_secret, amount_cents} when the change costs more

    @property
    def refund_amount(self) -> Decimal:
        return self.quote.refund_amount


def _address(data: dict | None, field: str) -> AddressData | None:
    if data is None:
        return None
    if not isinstance(data, dict) or not data.get("line1"):
        raise BookingValidationError("The address is not valid.", fields={field: ["Enter the address."]})
    return AddressData(**{key: str(data.get(key) or "") for key in _ADDRESS_KEYS})


def change_request(booking: Booking, change: BookingChange) -> BookingRequest:
    """The booking's request as it would be after the change (validated)."""
    specialty = change.specialty_items if change.specialty_items is not None else booking_specialty_codes(booking)
    return booking_request_with_changes(
        booking, specialty_items=tuple(specialty), pickup_date=change.pickup_date,
        pickup_window=change.pickup_window, package=change.package, item_count=change.item_count,
        pickup_address=_address(change.pickup_address, "pickup_address"),
        dropoff_address=_address(change.dropoff_address, "dropoff_address"))


def _check_reschedulable(booking: Booking) -> None:
    if booking.status == BookingStatus.PENDING:
        raise InvalidTransition("An unpaid booking is changed by editing it (PATCH), not rescheduled.")
    if booking.status not in RESCHEDULABLE:
        raise InvalidTransition(f"A {booking.get_status_display().lower()} booking cannot be changed.")


def _check_no_balance(booking: Booking) -> None:
    if booking_balances_owed(booking):
        raise BalanceDue("Pay the balance of the last change before changing this booking again.")


def _basis(booking: Booking) -> dict:
    """What a reschedule is priced from: the money so far and the booking as it stands."""
    return {**payment_basis(booking), "pickup_date": booking.pickup_date.isoformat(),
            "pickup_window": booking.pickup_window, "total": money_str(booking.total_price)}


def _price(booking: Booking, basis: dict, new_total: Decimal, *, now: dt.datetime, override) -> ChangePrice:
    info = policy_for(booking).info()
    if override is not None:  # staff on the phone may change a booking inside the online cutoff
        info = replace(info, reschedule_cutoff_hours=0)
    return price_reschedule(policy=info, pickup_at=pickup_moment(booking), now=now, old_total=booking.total_price,
                            new_total=new_total, paid=from_cents(basis["paid_cents"]),
                            refunded=from_cents(basis["refunded_cents"]))


def booking_change_preview(*, booking: Booking, change: BookingChange, actor=None,
                           override: ChangeOverride | None = None, now: dt.datetime | None = None) -> ChangeQuote:
    """Price the change now (policy fee, the new date's price difference) and store it as a quote.

    Refuses what the change itself would refuse: too late (409 too_late_to_change), a full or closed day
    (date_unavailable / building_closed, with alternatives), an unpaid balance (payment_required)."""
    now = now or timezone.now()
    _check_reschedulable(booking)
    check_override_actor(actor, override)
    _check_no_balance(booking)
    request = change_request(booking, change)
    validate_request(request, require_contact=False, now=now)
    if (request.pickup_date, request.pickup_window) == (booking.pickup_date, booking.pickup_window) \
            and change.pickup_address is None and change.dropoff_address is None and change.item_count is None \
            and change.package is None and change.specialty_items is None:
        raise BookingValidationError("Choose another date or window.",
                                     fields={"pickup_date": ["The booking is already on this date and window."]})
    basis = _basis(booking)
    price = _price(booking, basis, booking.total_price, now=now, override=override)  # too late? before the rest
    state = suggesting_alternatives(
        lambda: check_bookable(request, now=now, exclude_booking_id=booking.pk, current_date=booking.pickup_date),
        request, now=now)
    snapshot = catalog_snapshot(request.pickup_date, van=state.van, version=state.catalog_version)
    new_total = Decimal(calculate_price(request.price_request(), snapshot).as_json()["total_price"])
    price = _price(booking, basis, new_total, now=now, override=override)
    override_json = {}
    if override is not None:
        refundable = from_cents(basis["paid_cents"] - basis["refunded_cents"])
        price, given = apply_reschedule_override(price, override, refundable=refundable)
        check_override_amount(actor, given)
        override_json = {**override.as_json(), "given": money_str(given),
                         "actor_id": actor.pk, "actor": actor.get_username()}
    minutes = int(settings.TOTETAXI.get("CHANGE_QUOTE_MINUTES", 15))
    return ChangeQuote.objects.create(
        booking=booking, action=ChangeAction.RESCHEDULE, policy=policy_for(booking), request=change.as_json(),
        basis=basis, price={**price.as_json(), "old_total": money_str(booking.total_price),
                            "new_total": money_str(new_total)},
        amount_due=price.amount_due, refund_amount=price.refund_amount, old_total=booking.total_price,
        new_total=new_total, override=override_json, actor=actor if getattr(actor, "is_staff", False) else None,
        expires_at=now + dt.timedelta(minutes=minutes))


def booking_change_with_quote(*, booking: Booking, quote_id, actor=None, idempotency_key: str | None = None,
                              now: dt.datetime | None = None) -> ChangeOutcome:
    """Carry out a previewed change once, whatever the retries; refund or ask for the balance, as quoted."""
    now = now or timezone.now()
    quote_pk = quote_uuid(quote_id)
    key = validate_key(idempotency_key) if idempotency_key is not None else None
    quote = ChangeQuote.objects.filter(pk=quote_pk, booking_id=booking.pk, action=ChangeAction.RESCHEDULE).first()
    if quote is None:
        raise QuoteNotFound("No such quote for this booking.", fields={"quote_id": ["Unknown quote."]})
    change = BookingChange.from_json(quote.request)
    request = change_request(booking, change)
    if quote.used_at is None:
        validate_request(request, require_contact=False, now=now)
    days = sorted({dt.date.fromisoformat(quote.basis["pickup_date"]), change.pickup_date})

    def work() -> ChangeQuote:
        for day in days:
            lock_service_day(day)
        locked = Booking.objects.select_for_update(of=("self",)).select_related("package").get(pk=booking.pk)
        claim = None
        if key is not None:
            claim = idempotency_claim(scope=SCOPE_BOOKINGS_RESCHEDULE, key=key, now=now,
                                      request_hash=request_fingerprint({"booking": locked.pk, "quote_id": quote_pk}))
        current = ChangeQuote.objects.select_for_update().get(pk=quote_pk)
        if current.used_at is None and not isinstance(claim, Replay):
            # From the locked row: what the change leaves alone (notes, COI, items…) is kept as it is now.
            _reschedule_locked(locked, current, change_request(locked, change), actor=actor, now=now)
        if isinstance(claim, int):
            idempotency_complete(record_id=claim, status=200, body={"quote_id": str(current.pk)},
                                 booking_id=locked.pk)
        return current

    quote = suggesting_alternatives(lambda: with_retries(work), request, now=now)
    # After the commit, with no lock held: a replay re-sends what is still pending, with the same keys.
    refunds = [refund_submit(refund=refund, actor=actor) for refund in quote.refunds.all()]
    payment_required = None
    balance = Payment.objects.filter(change_quote=quote).order_by("-created_at").first()
    if balance is not None:
        payment_required = balance_intent_for(payment=balance, actor=actor, now=now)
    return ChangeOutcome(booking=Booking.objects.get(pk=booking.pk), quote=quote, refunds=refunds,
                         payment_required=payment_required)


def _reschedule_locked(booking: Booking, quote: ChangeQuote, request: BookingRequest, *, actor,
                       now: dt.datetime) -> None:
    _check_reschedulable(booking)
    check_quote_current(quote, basis=_basis(booking), actor=actor, now=now, kind="change",
                        changed="The booking or its payments")
    _check_no_balance(booking)
    breakdown = booking_apply_request_locked(booking=booking, request=request, actor=actor, now=now)
    if Decimal(breakdown["total_price"]) != quote.new_total:
        raise QuoteMismatch("The new date's price changed since the preview; preview again.")
    who, reference = quote_reference(quote, actor)
    notes = f"Rescheduled by {who} ({reference})."
    refunds = refunds_create(booking, to_cents(quote.refund_amount), actor=actor, notes=notes)
    if quote.amount_due > ZERO:
        balance_payment_record_locked(booking=booking, quote=quote, actor=actor)
    quote_carried_out(booking, quote, refunds, actor=actor, now=now)
    booking_payment_state_sync(booking, actor)
    # an on-commit job: Onfleet is called after the commit
    from core.logistics.tasks import sync_booking_tasks

    sync_booking_tasks(str(booking.pk))
    _notify_rescheduled(booking, quote, actor=actor)


def _notify_rescheduled(booking: Booking, quote: ChangeQuote, *, actor) -> None:
    from core.notifications.services import notification_send_custom

    if quote.refund_amount:
        money = f"We are refunding ${money_str(quote.refund_amount)} to your card."
    elif quote.amount_due:
        money = (f"The change costs ${money_str(quote.amount_due)} more; please pay the balance from your "
                 "booking page.")
    else:
        money = "There is nothing to pay for this change."
    window = booking.get_pickup_window_display().lower()
    body = (f"Hi {booking.customer.name},\n\nYour ToteTaxi booking {booking.booking_number} is now on "
            f"{booking.pickup_date:%A, %B %-d, %Y} ({window}). {money}\n\nThe ToteTaxi team")
    notification_send_custom(booking=booking, subject=f"Booking {booking.booking_number} rescheduled", body=body,
                             channels=["email"], actor=actor)
