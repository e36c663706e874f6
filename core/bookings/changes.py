"""Changing a sold booking under its change policy: a stored preview (quote), then the change itself.

A cancellation is carried out once per booking: the booking row lock serialises every attempt, the first one
marks its quote used and records the refunds in the same transaction, and every later attempt with that quote
(a retry, a double click, 20 at once) replays it. Refunds are sent to Stripe after the commit, outside any row
lock, with idempotency keys from our refund ids, so a retry that re-sends one cannot refund twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, replace
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from core.bookings.change_models import ChangeAction, ChangeQuote
from core.bookings.change_overrides import (
    ChangeOverride,
    apply_cancel_override,
    check_override_actor,
    check_override_amount,
    check_override_confirm,
)
from core.bookings.errors import InvalidTransition, NoChangePolicy, QuoteExpired, QuoteMismatch, QuoteNotFound
from core.bookings.idempotency import (
    Replay,
    idempotency_claim,
    idempotency_complete,
    request_fingerprint,
    validate_key,
)
from core.bookings.models import PICKUP_WINDOW_HOURS, Booking, BookingStatus
from core.bookings.services import booking_transition
from core.catalog.change_pricing import CancellationTier, ChangePrice, price_cancellation
from core.catalog.policy_models import ChangePolicy
from core.common.money import from_cents, money_str, to_cents
from core.payments.errors import PaymentProviderError, PaymentProviderUnavailable
from core.payments.models import Payment, PaymentStatus, Refund
from core.payments.services import balance_intents_cancel, payment_audit, refund_record_locked, refund_submit

logger = logging.getLogger(__name__)

SCOPE_BOOKINGS_CANCEL = "bookings.cancel"
CHANGEABLE = (BookingStatus.PENDING, BookingStatus.PAID, BookingStatus.SCHEDULED)
# When a window starts, in New York time: the policy's hours are counted to the start of the pickup window.
WINDOW_STARTS = {window: dt.time(start) for window, (start, _end) in PICKUP_WINDOW_HOURS.items()}


@dataclass(frozen=True)
class CancelOutcome:
    booking: Booking
    quote: ChangeQuote
    refunds: list[Refund]

    @property
    def refund_amount(self) -> Decimal:
        return self.quote.refund_amount


def pickup_moment(booking: Booking) -> dt.datetime:
    """The start of the booking's pickup window, aware (America/New_York)."""
    start = WINDOW_STARTS.get(booking.pickup_window, dt.time(8))
    return dt.datetime.combine(booking.pickup_date, start, tzinfo=ZoneInfo(settings.TIME_ZONE))


def policy_for(booking: Booking) -> ChangePolicy:
    """The version the booking was sold under; bookings sold before policies existed follow the active one."""
    if booking.change_policy_id:
        return booking.change_policy
    policy = ChangePolicy.objects.filter(is_active=True).first()
    if policy is None:
        raise NoChangePolicy("No change policy is set up; call us to change this booking.")
    return policy


def payment_basis(booking: Booking) -> dict:
    """What the customer paid and got back so far (one query): a change is priced on it."""
    row = Payment.objects.filter(booking=booking, status=PaymentStatus.SUCCEEDED).aggregate(
        paid=Sum("amount_cents"), refunded=Sum("refunded_cents"))
    return {"paid_cents": int(row["paid"] or 0), "refunded_cents": int(row["refunded"] or 0)}


def coi_fee_kept(booking: Booking, basis: dict) -> bool:
    """The COI fee is not refundable once the certificate was issued. Certificates are issued once a booking is
    paid (there is no issued-certificate record yet), so: a COI booking with money captured keeps its fee."""
    return booking.coi_required and basis["paid_cents"] > 0


def _check_changeable(booking: Booking) -> None:
    if booking.status not in CHANGEABLE:
        raise InvalidTransition(f"A {booking.get_status_display().lower()} booking cannot be changed online.")


def _cancellation_price(booking: Booking, policy: ChangePolicy, basis: dict, now: dt.datetime) -> ChangePrice:
    return price_cancellation(
        policy=policy.info(), pickup_at=pickup_moment(booking), now=now, paid=from_cents(basis["paid_cents"]),
        refunded=from_cents(basis["refunded_cents"]), coi_fee=booking.coi_fee,
        coi_non_refundable=coi_fee_kept(booking, basis), total=booking.total_price)


def booking_cancel_preview(*, booking: Booking, now: dt.datetime | None = None, actor=None,
                           override: ChangeOverride | None = None) -> ChangeQuote:
    """Price cancelling the booking now and store it as a quote the cancel call honours until it expires.

    Staff may override the policy (`override`: waive the fee, or a custom refund up to what is refundable),
    with a reason; admins alone above the configured amount (core.bookings.change_overrides)."""
    now = now or timezone.now()
    _check_changeable(booking)
    check_override_actor(actor, override)
    policy = policy_for(booking)
    basis = payment_basis(booking)
    override_json = {}
    if override is None:
        price = _cancellation_price(booking, policy, basis, now)
    else:
        info = policy.info()
        if not any(tier.min_hours_before == 0 for tier in info.cancellation_tiers):  # staff may cancel late
            info = replace(info, cancellation_tiers=(*info.cancellation_tiers, CancellationTier(0, "percent",
                                                                                                  Decimal(100))))
        price = price_cancellation(
            policy=info, pickup_at=max(pickup_moment(booking), now + dt.timedelta(seconds=1)), now=now,
            paid=from_cents(basis["paid_cents"]), refunded=from_cents(basis["refunded_cents"]),
            coi_fee=booking.coi_fee, coi_non_refundable=coi_fee_kept(booking, basis), total=booking.total_price)
        price, given = apply_cancel_override(price, override,
                                             refundable=from_cents(basis["paid_cents"] - basis["refunded_cents"]))
        check_override_amount(actor, given)
        override_json = {**override.as_json(), "given": money_str(given), "actor_id": actor.pk,
                         "actor": actor.get_username()}
    minutes = int(settings.TOTETAXI.get("CHANGE_QUOTE_MINUTES", 15))
    return ChangeQuote.objects.create(
        booking=booking, action=ChangeAction.CANCEL, policy=policy, basis=basis, price=price.as_json(),
        amount_due=price.amount_due, refund_amount=price.refund_amount, override=override_json,
        actor=actor if getattr(actor, "is_staff", False) else None,
        expires_at=now + dt.timedelta(minutes=minutes))


def quote_uuid(quote_id) -> uuid.UUID:
    try:
        return uuid.UUID(str(quote_id))
    except ValueError as exc:
        raise QuoteNotFound("No such quote for this booking.", fields={"quote_id": ["Unknown quote."]}) from exc


def booking_cancel_with_quote(*, booking: Booking, quote_id, actor=None, idempotency_key: str | None = None,
                              now: dt.datetime | None = None) -> CancelOutcome:
    """Cancel as previewed: refund per the quote (once, whatever the retries), free the slot, tell the customer."""
    now = now or timezone.now()
    quote_pk = quote_uuid(quote_id)
    key = validate_key(idempotency_key) if idempotency_key is not None else None
    with transaction.atomic():
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        claim = None
        if key is not None:
            claim = idempotency_claim(scope=SCOPE_BOOKINGS_CANCEL, key=key,
                                      request_hash=request_fingerprint({"booking": locked.pk, "quote_id": quote_pk}),
                                      now=now)
        quote = ChangeQuote.objects.select_for_update().filter(
            pk=quote_pk, booking=locked, action=ChangeAction.CANCEL).first()
        if quote is None:
            raise QuoteNotFound("No such quote for this booking.", fields={"quote_id": ["Unknown quote."]})
        if quote.used_at is None and not isinstance(claim, Replay):
            _cancel_locked(locked, quote, actor=actor, now=now)
        if isinstance(claim, int):
            idempotency_complete(record_id=claim, status=200, body={"quote_id": str(quote.pk)}, booking_id=locked.pk)
    # After the commit, with no lock held: send what is still pending (a replay re-sends with the same key).
    refunds = [refund_submit(refund=refund, actor=actor) for refund in quote.refunds.all()]
    try:
        balance_intents_cancel(booking_id=booking.pk, actor=actor)
    except (PaymentProviderError, PaymentProviderUnavailable):  # the cancel stands; the payments sweep retries
        logger.warning("balance intents of cancelled booking %s left for the sweep", booking.pk, exc_info=True)
    return CancelOutcome(booking=Booking.objects.get(pk=booking.pk), quote=quote, refunds=refunds)


def quote_carried_out(booking: Booking, quote: ChangeQuote, refunds: list[Refund], *, actor,
                      now: dt.datetime) -> None:
    """Inside the change's transaction: the quote is used (replays answer from it), its refunds linked, and an
    override of the policy audited with its reason."""
    if quote.override:
        payment_audit("change_override", booking=booking, user=actor, quote_id=str(quote.pk), change=quote.action,
                      **{k: v for k, v in quote.override.items() if k not in ("actor_id", "actor")})
    quote.used_at = now
    quote.used_by = actor if getattr(actor, "is_authenticated", False) else None
    quote.save(update_fields=["used_at", "used_by"])
    quote.refunds.set(refunds)


def check_quote_current(quote: ChangeQuote, *, basis: dict, actor, now: dt.datetime, kind: str,
                        changed: str) -> None:
    """A quote is carried out only as previewed: its override still this actor's to give, not expired, and
    `basis` (what it was priced from, as it stands now) unchanged. `kind` names the quote, `changed` what moved."""
    check_override_confirm(actor, quote)
    if quote.expires_at <= now:
        raise QuoteExpired(f"This {kind} quote has expired; preview the {kind} again.")
    if basis != quote.basis:
        raise QuoteMismatch(f"{changed} changed since the preview; preview again.")


def quote_reference(quote: ChangeQuote, actor) -> tuple[str, str]:
    """Who carried a quote out ("staff" / "the customer") and the policy and quote it was priced under, for
    status reasons and refund notes."""
    version = quote.policy.version if quote.policy_id else "?"
    who = "staff" if getattr(actor, "is_staff", False) else "the customer"
    return who, f"change policy v{version}, quote {quote.pk}"


def _cancel_locked(booking: Booking, quote: ChangeQuote, *, actor, now: dt.datetime) -> None:
    if booking.status == BookingStatus.CANCELLED:
        raise InvalidTransition("This booking is already cancelled.")
    _check_changeable(booking)
    check_quote_current(quote, basis=payment_basis(booking), actor=actor, now=now, kind="cancellation",
                        changed="A payment or refund")
    if ChangeQuote.objects.filter(booking=booking, action=ChangeAction.RESCHEDULE,
                                  used_at__gt=quote.created_at).exists():
        raise QuoteMismatch("The booking was rescheduled since the preview; preview the cancellation again.")
    who, reference = quote_reference(quote, actor)
    booking_transition(booking=booking, to_status=BookingStatus.CANCELLED, actor=actor, now=now,
                       reason=f"Cancelled by {who} ({reference}).")
    refunds = refunds_create(booking, to_cents(quote.refund_amount), actor=actor,
                              notes=f"Cancellation under {reference}.")
    quote_carried_out(booking, quote, refunds, actor=actor, now=now)
    _notify_cancelled(booking, quote, actor=actor)


def refunds_create(booking: Booking, cents: int, *, actor, notes: str) -> list[Refund]:
    """Spread `cents` over the booking's captured payments, newest first (usually one payment, one refund)."""
    refunds = []
    payments = Payment.objects.select_for_update().filter(booking=booking, status=PaymentStatus.SUCCEEDED) \
        .order_by("-succeeded_at", "-pk")
    for payment in payments:
        if cents <= 0:
            break
        amount = min(cents, payment.refundable_cents)
        if amount > 0:
            refunds.append(refund_record_locked(payment=payment, amount_cents=amount,
                                                reason="requested_by_customer", notes=notes, actor=actor))
            cents -= amount
    return refunds


def _notify_cancelled(booking: Booking, quote: ChangeQuote, *, actor) -> None:
    from core.notifications.services import notification_send_custom

    refund = quote.refund_amount
    money = f"We are refunding ${money_str(refund)} to your card." if refund else "No refund is due under our " \
        "change policy."
    body = (f"Hi {booking.customer.name},\n\nYour ToteTaxi booking {booking.booking_number} for "
            f"{booking.pickup_date:%A, %B %-d, %Y} is cancelled. {money}\n\nThe ToteTaxi team")
    notification_send_custom(booking=booking, subject=f"Booking {booking.booking_number} cancelled", body=body,
                             channels=["email"], actor=actor)
