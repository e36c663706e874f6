"""Staff overriding the change policy (waive a fee, a custom refund): who may, and how it shows in a quote.

Staff only, with a reason; above `TOTETAXI["CHANGE_OVERRIDE_ADMIN_ABOVE"]` dollars of money given away (the fee
waived, or the refund above the policy's) only admins (the Admin group, the admin role, or superusers).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from core.bookings.errors import BookingValidationError, OverrideNotAllowed, ReasonRequired
from core.catalog.change_pricing import ChangeLine, ChangePrice
from core.common.money import ZERO, from_cents, quantize

ADMIN_GROUP = "Admin"
REASON_MAX_LENGTH = 500


@dataclass(frozen=True)
class ChangeOverride:
    """Staff overriding the change policy for one change: why (required), and what."""

    reason: str
    waive_fee: bool = False
    refund_cents: int | None = None  # a cancellation's refund instead of the policy's (up to what is refundable)

    def as_json(self) -> dict:
        return {"reason": self.reason.strip(), "waive_fee": self.waive_fee, "refund_cents": self.refund_cents}


def override_threshold() -> Decimal:
    return Decimal(str(settings.TOTETAXI.get("CHANGE_OVERRIDE_ADMIN_ABOVE", 200)))


def is_change_admin(actor) -> bool:
    if actor is None:
        return False
    if getattr(actor, "is_superuser", False) or getattr(actor, "is_admin_role", False):
        return True
    return actor.groups.filter(name=ADMIN_GROUP).exists()


def check_override_actor(actor, override: ChangeOverride | None) -> None:
    """Before pricing: staff only, a reason, a sane refund."""
    if override is None:
        return
    if actor is None or not getattr(actor, "is_staff", False):
        raise OverrideNotAllowed("Only staff can override the change policy.")
    reason = (override.reason or "").strip()
    if not reason:
        raise ReasonRequired("Give a reason for overriding the change policy.",
                             fields={"reason": ["Required for an override."]})
    if len(reason) > REASON_MAX_LENGTH:
        raise BookingValidationError("The reason is too long.",
                                     fields={"reason": [f"Keep it under {REASON_MAX_LENGTH} characters."]})
    cents = override.refund_cents
    if cents is not None and (isinstance(cents, bool) or not isinstance(cents, int) or cents < 0):
        raise BookingValidationError("The refund must be a whole number of cents, zero or more.",
                                     fields={"refund_cents": ["A whole number of cents ≥ 0."]})


def check_override_amount(actor, given: Decimal) -> None:
    """After pricing: `given` dollars more than the policy gives; above the threshold, admins only."""
    if given > override_threshold() and not is_change_admin(actor):
        raise OverrideNotAllowed(f"Overrides above ${override_threshold()} need an admin; this one gives "
                                 f"${quantize(given)} more than the policy.")


def check_override_confirm(actor, quote) -> None:
    """Carrying out a quote that overrides the policy: staff again, and the same limit as at the preview, so a
    previewed override cannot be confirmed through the public API, nor by staff below the admin threshold."""
    if not quote.override:
        return
    if actor is None or not getattr(actor, "is_staff", False):
        raise OverrideNotAllowed("This change overrides the change policy: only staff can carry it out.")
    check_override_amount(actor, Decimal(str(quote.override.get("given", "0"))))


def _reprice(price: ChangePrice, lines: list[ChangeLine], *, amount_due: Decimal, refund: Decimal) -> ChangePrice:
    return ChangePrice(price.action, price.policy_version, price.hours_before, tuple(lines), amount_due, refund)


def apply_cancel_override(price: ChangePrice, override: ChangeOverride, *, refundable: Decimal
                          ) -> tuple[ChangePrice, Decimal]:
    """The cancellation price with the override applied, and how much more it gives back than the policy."""
    lines = list(price.lines)
    refund = price.refund_amount
    if override.waive_fee:
        waived = sum((-line.amount for line in price.lines if line.code == "cancellation_fee"), ZERO)
        if waived:
            lines.append(ChangeLine("override", "fee_waived", f"Cancellation fee waived: {override.reason.strip()}",
                                    waived))
            refund = min(refund + waived, refundable)
    if override.refund_cents is not None:
        custom = from_cents(override.refund_cents)
        if custom > refundable:
            raise BookingValidationError(
                f"At most ${refundable} is left to refund.",
                fields={"refund_cents": [f"At most {int(refundable * 100)} cents is left to refund."]})
        lines.append(ChangeLine("override", "custom_refund", f"Refund set by staff: {override.reason.strip()}",
                                custom - refund))
        refund = custom
    return _reprice(price, lines, amount_due=price.amount_due, refund=refund), max(refund - price.refund_amount,
                                                                                   ZERO)


def apply_reschedule_override(price: ChangePrice, override: ChangeOverride, *, refundable: Decimal
                              ) -> tuple[ChangePrice, Decimal]:
    """The reschedule price with the fee waived (a custom refund is for cancellations only)."""
    if override.refund_cents is not None:
        raise BookingValidationError("A custom refund applies to cancellations; waive the fee instead.",
                                     fields={"refund_cents": ["Only for cancellations."]})
    fee = sum((line.amount for line in price.lines if line.code == "reschedule_fee"), ZERO)
    if not override.waive_fee or not fee:
        return price, ZERO
    lines = [*price.lines, ChangeLine("override", "fee_waived", f"Change fee waived: {override.reason.strip()}",
                                      -fee)]
    net = sum((line.amount for line in lines if line.kind != "paid"), ZERO)
    refund = min(max(-net, ZERO), refundable)
    return _reprice(price, lines, amount_due=max(net, ZERO), refund=refund), fee
