"""Pricing a change to a sold booking (cancel, reschedule) under a change policy: pure, no I/O.

Hours before pickup are real elapsed hours between two aware instants, so a tier boundary lands on the same
instant whether or not a DST switch falls in between (wall-clock arithmetic would be an hour off).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from core.bookings.errors import TooLateToChange
from core.catalog.errors import PolicyInvalid
from core.common.money import ZERO, money_str, quantize

FEE_TYPES = ("percent", "fixed")

@dataclass(frozen=True)
class CancellationTier:
    """Cancelling at least `min_hours_before` the pickup costs `fee` (percent of the booking's price as it
    stands, up to what was paid, or dollars, capped at it)."""

    min_hours_before: int
    fee_type: str
    fee: Decimal

    def fee_on(self, base: Decimal) -> Decimal:
        if self.fee_type == "percent":
            return quantize(base * self.fee / Decimal(100))
        return min(quantize(self.fee), base)


@dataclass(frozen=True)
class PolicyInfo:
    version: int
    cancellation_tiers: tuple[CancellationTier, ...]  # most hours first
    reschedule_free_hours: int
    reschedule_fee: Decimal
    reschedule_cutoff_hours: int

    def tier_for(self, hours_before: Decimal) -> CancellationTier:
        for tier in self.cancellation_tiers:
            if hours_before >= tier.min_hours_before:
                return tier
        raise TooLateToChange("The pickup is too close to cancel online; call us.")


def parse_tiers(raw) -> tuple[CancellationTier, ...]:
    """The JSON tiers as the console stores them → sorted tiers; PolicyInvalid names what is wrong."""
    if not isinstance(raw, list) or not raw:
        raise PolicyInvalid("Add at least one cancellation tier.", fields={"cancellation_tiers": ["Required."]})
    tiers, errors = [], {}
    for index, item in enumerate(raw):
        path = f"cancellation_tiers.{index}"
        try:
            hours, fee_type, fee = int(item["min_hours_before"]), item["fee_type"], Decimal(str(item["fee"]))
        except (KeyError, TypeError, ValueError, InvalidOperation):
            errors[path] = ["Each tier needs min_hours_before (hours), fee_type and fee."]
            continue
        if hours < 0 or fee_type not in FEE_TYPES or not fee.is_finite() or fee < 0 \
                or (fee_type == "percent" and fee > 100):
            errors[path] = ["Hours ≥ 0; fee_type percent (0–100) or fixed (dollars ≥ 0)."]
            continue
        tiers.append(CancellationTier(hours, fee_type, fee))
    hours_seen = [t.min_hours_before for t in tiers]
    if not errors and len(set(hours_seen)) != len(hours_seen):
        errors["cancellation_tiers"] = ["Two tiers start at the same hour."]
    if errors:
        raise PolicyInvalid("The cancellation tiers are not valid.", fields=errors)
    return tuple(sorted(tiers, key=lambda t: -t.min_hours_before))


@dataclass(frozen=True)
class ChangeLine:
    kind: str  # paid | fee | refund | price_difference
    code: str
    description: str
    amount: Decimal  # positive: owed to the customer's benefit or paid by them; see each line's kind

    def as_json(self) -> dict:
        return {"kind": self.kind, "code": self.code, "description": self.description,
                "amount": money_str(self.amount)}


@dataclass(frozen=True)
class ChangePrice:
    action: str
    policy_version: int
    hours_before: Decimal
    lines: tuple[ChangeLine, ...]
    amount_due: Decimal
    refund_amount: Decimal

    def as_json(self) -> dict:
        return {"action": self.action, "policy_version": self.policy_version,
                "lines": [line.as_json() for line in self.lines], "amount_due": money_str(self.amount_due),
                "refund_amount": money_str(self.refund_amount)}


def hours_until(pickup_at: dt.datetime, now: dt.datetime) -> Decimal:
    """Real hours from `now` to `pickup_at` (both aware), exact to the second."""
    if pickup_at.tzinfo is None or now.tzinfo is None:
        raise ValueError("hours_until needs aware datetimes")
    seconds = (pickup_at.astimezone(dt.UTC) - now.astimezone(dt.UTC)).total_seconds()
    return Decimal(int(seconds)) / Decimal(3600)


def price_cancellation(*, policy: PolicyInfo, pickup_at: dt.datetime, now: dt.datetime, paid: Decimal,
                       refunded: Decimal, coi_fee: Decimal, coi_non_refundable: bool,
                       total: Decimal | None = None) -> ChangePrice:
    """What cancelling now gives back: what was paid, less the tier's fee, the COI fee once a certificate is
    issued, and refunds already made (a goodwill partial refund is not paid twice).

    A percentage fee is taken on the booking's price as it stands (`total`, never more than was paid): after a
    change to a cheaper date refunded the difference, the fee is on the cheaper price, not the first one."""
    hours = hours_until(pickup_at, now)
    if hours <= 0:
        raise TooLateToChange("The pickup time has passed; this booking can no longer be cancelled.")
    tier = policy.tier_for(hours)
    paid, refunded = quantize(paid), quantize(refunded)
    kept_coi = quantize(coi_fee) if coi_non_refundable and paid > ZERO else ZERO
    kept_coi = min(kept_coi, paid)
    base = paid if total is None else min(paid, quantize(total))
    fee = tier.fee_on(max(base - kept_coi, ZERO))
    lines = [ChangeLine("paid", "paid", "Paid for this booking", paid)]
    if fee:
        label = f"{tier.fee:g}% cancellation fee" if tier.fee_type == "percent" else "Cancellation fee"
        lines.append(ChangeLine("fee", "cancellation_fee",
                                f"{label} ({_tier_label(tier)} before pickup)", -fee))
    if kept_coi:
        lines.append(ChangeLine("fee", "coi_fee", "Certificate of insurance (issued; not refundable)", -kept_coi))
    if refunded:
        lines.append(ChangeLine("refund", "earlier_refunds", "Already refunded", -refunded))
    refund = max(paid - fee - kept_coi - refunded, ZERO)
    return ChangePrice("cancel", policy.version, hours, tuple(lines), ZERO, refund)


def price_reschedule(*, policy: PolicyInfo, pickup_at: dt.datetime, now: dt.datetime, old_total: Decimal,
                     new_total: Decimal, paid: Decimal, refunded: Decimal) -> ChangePrice:
    """Moving the booking: free far enough ahead, a fee later, refused inside the cutoff; the new date's
    price difference is charged or refunded (never more back than is left of what was paid)."""
    hours = hours_until(pickup_at, now)
    if hours < policy.reschedule_cutoff_hours:
        raise TooLateToChange(
            f"Changes close {policy.reschedule_cutoff_hours} hours before pickup; call us to change this booking.")
    fee = ZERO if hours >= policy.reschedule_free_hours else quantize(policy.reschedule_fee)
    difference = quantize(new_total) - quantize(old_total)
    lines = []
    if difference:
        lines.append(ChangeLine("price_difference", "price_difference", "New date's price difference", difference))
    if fee:
        lines.append(ChangeLine("fee", "reschedule_fee",
                                f"Change fee (less than {policy.reschedule_free_hours} hours before pickup)", fee))
    net = difference + fee
    refund = min(max(-net, ZERO), max(quantize(paid) - quantize(refunded), ZERO))
    return ChangePrice("reschedule", policy.version, hours, tuple(lines), max(net, ZERO), refund)


def _tier_label(tier: CancellationTier) -> str:
    hours = tier.min_hours_before
    if hours and hours % 24 == 0:
        return f"{hours // 24} day{'s' if hours != 24 else ''} or more"
    return f"{hours} hours or more" if hours else "under the last tier"
