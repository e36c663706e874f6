"""Stripe disputes: one Dispute row per Stripe dispute, opened then closed (won, lost), whatever the event order."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.common.audit import set_actor
from core.common.money import from_cents
from core.common.services import model_update
from core.integrations.stripe import expandable_id
from core.payments.models import DISPUTE_FINAL_STATUSES, Dispute, DisputeOutcome, Payment
from core.payments.services.common import payment_audit


def _when(timestamp) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC) if timestamp else None
    except (TypeError, ValueError, OverflowError):
        return None


def _payment_of(dispute: dict) -> Payment | None:
    pi_id, charge_id = expandable_id(dispute.get("payment_intent")), expandable_id(dispute.get("charge"))
    if not pi_id and not charge_id:
        return None
    query = Q(stripe_payment_intent_id=pi_id) if pi_id else Q()  # an empty Q drops out of the OR
    if charge_id:
        query |= Q(stripe_charge_id=charge_id)
    return Payment.objects.filter(query).select_related("booking").first()


def dispute_fees(dispute: dict) -> dict:
    """Stripe's dispute fee from the dispute's balance transactions (zero, one or two, each a full object):
    the withdrawal (negative amount) carries the fee taken, a reinstatement (positive amount) a negative fee
    when Stripe gives the fee back. Returns the Dispute fields they fill (an empty dict when none is there)."""
    fields: dict = {}
    for bt in dispute.get("balance_transactions") or ():
        if not isinstance(bt, dict):
            continue  # an id only (not expanded): the next event carries the object
        try:
            amount, fee = int(bt.get("amount") or 0), int(bt.get("fee") or 0)
        except (TypeError, ValueError):
            continue
        at = _when(bt.get("created"))
        if at is None:
            continue
        if amount < 0 and fee > 0:
            fields.update(fee_cents=fee, fee_at=at)
        elif amount > 0 and fee < 0:
            fields.update(fee_returned_cents=-fee, fee_returned_at=at)
    return fields


def _fee_changes(row: Dispute, fees: dict) -> dict:
    """The fee facts a row does not hold yet: balance transactions are final, so each is recorded once,
    whatever the event's order or the dispute's outcome (funds are reinstated after a dispute is closed)."""
    changes = {}
    if "fee_at" in fees and row.fee_at is None:
        changes.update(fee_cents=fees["fee_cents"], fee_at=fees["fee_at"])
    if "fee_returned_at" in fees and row.fee_returned_at is None:
        changes.update(fee_returned_cents=fees["fee_returned_cents"], fee_returned_at=fees["fee_returned_at"])
    return changes


def payment_record_dispute(*, dispute: dict, event_at: dt.datetime | None = None, actor=None) -> Payment | None:
    """Record a Stripe dispute object from any charge.dispute.* event (idempotent, in any order).

    A new open dispute flags the booking for staff with the evidence due date. A closing status (won, lost,
    warning_closed) is final: it sets the outcome and `closed_at` (the event's time, `event_at`) once, and a
    later or replayed event never reopens it. An open-status event older (Stripe `created`) than the last one
    applied is ignored, so a late `charge.dispute.updated` cannot undo a newer one. Stripe's dispute fee (and
    its return) is recorded from the balance transactions whichever event first carries them
    (`charge.dispute.funds_withdrawn` / `.funds_reinstated` too). Returns the payment, or None when the dispute
    is not ours.
    """
    from core.bookings.services import booking_flag

    payment = _payment_of(dispute)
    if payment is None or not dispute.get("id"):
        return None
    now = timezone.now()
    status = str(dispute.get("status") or "")
    outcome = DISPUTE_FINAL_STATUSES.get(status, DisputeOutcome.OPEN)
    due = _when((dispute.get("evidence_details") or {}).get("due_by"))
    cents = int(dispute.get("amount") or 0)
    fees = dispute_fees(dispute)
    with transaction.atomic():
        row = Dispute.objects.select_for_update().filter(stripe_dispute_id=dispute["id"]).first()
        created = False
        if row is None:
            row = Dispute(payment=payment, stripe_dispute_id=dispute["id"], amount_cents=cents,
                          currency=str(dispute.get("currency") or payment.currency)[:3],
                          reason=str(dispute.get("reason") or "")[:60], stripe_status=status[:40],
                          opened_at=_when(dispute.get("created")) or event_at or now, evidence_due_by=due,
                          outcome=outcome, closed_at=(event_at or now) if outcome != DisputeOutcome.OPEN else None,
                          last_event_at=event_at, **fees)
            set_actor(row, actor)
            try:
                with transaction.atomic():  # a savepoint: two events of a new dispute may race to insert it
                    row.save(force_insert=True)
                created = True
            except IntegrityError:
                row = Dispute.objects.select_for_update().get(stripe_dispute_id=dispute["id"])
        if not created and (fee_changes := _fee_changes(row, fees)):
            model_update(instance=row, fields=list(fee_changes), data=fee_changes, actor=actor)
            payment_audit("dispute_fee", payment=payment, user=actor, dispute_id=dispute["id"],
                          **{k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in fee_changes.items()})
        if not created:
            if row.outcome != DisputeOutcome.OPEN:
                return payment  # closed already: a replayed or late event changes nothing
            if (outcome == DisputeOutcome.OPEN and event_at is not None and row.last_event_at is not None
                    and event_at < row.last_event_at):
                return payment  # an older update delivered late: the newer one's status/amount/due date stand
            data = {"stripe_status": status[:40], "amount_cents": cents, "evidence_due_by": due or row.evidence_due_by,
                    "outcome": outcome, "last_event_at": max(filter(None, (event_at, row.last_event_at)), default=None)}
            if outcome != DisputeOutcome.OPEN:
                data["closed_at"] = event_at or now
            model_update(instance=row, fields=list(data), data=data, actor=actor)
        if created and outcome == DisputeOutcome.OPEN:
            booking_flag(booking=payment.booking, actor=actor, due=due,
                         reason=f"Dispute {dispute['id']} ({dispute.get('reason') or 'unknown'}) "
                                f"for ${from_cents(cents)}: submit evidence")
            payment_audit("dispute_created", payment=payment, user=actor, dispute_id=dispute["id"],
                          reason=dispute.get("reason") or "", amount_cents=cents,
                          due_by=due.isoformat() if due else None, status=status)
        if outcome != DisputeOutcome.OPEN:
            payment_audit("dispute_closed", payment=payment, user=actor, dispute_id=dispute["id"],
                          outcome=outcome, amount_cents=cents, status=status)
    return payment
