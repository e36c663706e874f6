"""The fake Stripe's memory: stored objects and their mechanics (intents succeed or fail, charges, refunds
counted against them), the test controls that move them, and webhook events signed as Stripe signs them."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from tests.fakes.stripe_records import (
    charge_fee_transaction,
    charge_record,
    payment_intent_record,
)
from tests.fakes.stripe_wire import API_VERSION, invalid, missing

ACTIVE_PI_STATUSES = ("requires_payment_method", "requires_confirmation", "requires_action", "processing")
# Refunds in these states count against what is left to refund on the charge.
REFUND_HOLDING_STATUSES = ("pending", "requires_action", "succeeded")

# Which fields of each object type may be expanded, and by which object type they are resolved.
EXPANDABLE: dict[str, frozenset[str]] = {
    "payment_intent": frozenset({"latest_charge"}),
    "charge": frozenset({"balance_transaction", "payment_intent"}),
    "refund": frozenset({"balance_transaction", "charge", "payment_intent"}),
    "balance_transaction": frozenset({"source"}),
    "event": frozenset(),
}


class SignedWebhook(NamedTuple):
    event: dict[str, Any]
    payload: bytes
    header: str


class StripeObjects:
    """Stripe's objects in memory behind one lock, so concurrent requests are serialised."""

    def __init__(self, *, fee_percent: float = 2.9, fee_fixed: int = 30) -> None:
        self.fee_percent = fee_percent
        self.fee_fixed = fee_fixed
        self._lock = threading.RLock()
        self.forget_objects()

    def forget_objects(self) -> None:
        """Forget every object and counter."""
        with self._lock:
            self._objects: dict[str, dict[str, Any]] = {}
            self._seq: dict[str, int] = {}
            self._next_seq = 0
            self._now: int | None = None
            self.created_payment_intents = 0
            self.created_refunds = 0
            self.created_charges = 0
            self.refund_initial_status = "succeeded"

    # -- clock

    def now(self) -> int:
        return self._now if self._now is not None else int(time.time())

    def set_clock(self, timestamp: int | None) -> None:
        """Freeze the fake's clock (``created`` of new objects, key expiry); ``None`` → wall clock."""
        with self._lock:
            self._now = timestamp

    # -- test controls: payment intents

    def seed_payment_intent(
        self,
        amount: int,
        *,
        currency: str = "usd",
        metadata: Mapping[str, str] | None = None,
        created: int | None = None,
        succeeded: bool = False,
    ) -> dict[str, Any]:
        """Create an intent without HTTP (e.g. many intents with chosen ``created`` for reconciliation)."""
        with self._lock:
            pi = self._new_payment_intent(
                amount=amount,
                currency=currency,
                metadata=dict(metadata or {}),
                description=None,
                automatic=True,
                payment_method_types=None,
                created=created,
            )
            if succeeded:
                self._succeed(pi, created=created)
            return self._render(pi, [])

    def succeed(self, pi_id: str) -> dict[str, Any]:
        """Payment went through: status ``succeeded``, a succeeded charge with a balance transaction."""
        with self._lock:
            pi = self._get("payment_intent", pi_id)
            if pi["status"] not in (*ACTIVE_PI_STATUSES, "requires_capture"):
                raise ValueError(f"cannot succeed {pi_id} in status {pi['status']}")
            self._succeed(pi)
            return self._render(pi, [])

    def fail(
        self, pi_id: str, message: str = "Your card was declined.", *, decline_code: str = "generic_decline"
    ) -> dict[str, Any]:
        """Payment attempt declined: a failed charge; the intent goes back to ``requires_payment_method``."""
        with self._lock:
            pi = self._get("payment_intent", pi_id)
            if pi["status"] not in ACTIVE_PI_STATUSES:
                raise ValueError(f"cannot fail {pi_id} in status {pi['status']}")
            self._fail(pi, message, decline_code)
            return self._render(pi, [])

    def set_processing(self, pi_id: str) -> dict[str, Any]:
        return self._move(pi_id, "processing")

    def require_action(self, pi_id: str) -> dict[str, Any]:
        return self._move(pi_id, "requires_action", next_action={"type": "use_stripe_sdk", "use_stripe_sdk": {}})

    def _move(self, pi_id: str, status: str, **changes: Any) -> dict[str, Any]:
        with self._lock:
            pi = self._get("payment_intent", pi_id)
            if pi["status"] not in ACTIVE_PI_STATUSES:
                raise ValueError(f"cannot move {pi_id} from {pi['status']} to {status}")
            pi.update(status=status, **changes)
            return self._render(pi, [])

    # -- test controls: refunds

    def set_refund_status(
        self, refund_id: str, status: str, failure_reason: str | None = None
    ) -> dict[str, Any]:
        """E.g. ``("pending" → "succeeded")`` or ``"failed", "expired_or_canceled_card"``."""
        with self._lock:
            refund = self._get("refund", refund_id)
            refund["status"] = status
            refund["failure_reason"] = failure_reason if status == "failed" else None
            self._recompute_refunded(refund["charge"])
            return self._render(refund, [])

    # -- inspection

    def get_object(self, obj_id: str, expand: Iterable[str] = ()) -> dict[str, Any]:
        with self._lock:
            if obj_id not in self._objects:
                raise KeyError(obj_id)
            return self._render(self._objects[obj_id], list(expand))

    def objects(self, kind: str) -> list[dict[str, Any]]:
        """Every stored object of one kind (``"payment_intent"``, ``"refund"``, …), oldest first."""
        with self._lock:
            found = [o for o in self._objects.values() if o["object"] == kind]
            found.sort(key=lambda o: (o["created"], self._seq[o["id"]]))
            return [self._render(o, []) for o in found]

    # -- webhooks

    def make_event(
        self,
        type: str,
        obj: Mapping[str, Any] | str,
        *,
        previous_attributes: Mapping[str, Any] | None = None,
        created: int | None = None,
    ) -> dict[str, Any]:
        """A Stripe event dict; ``obj`` is an object dict or the id of a stored object (snapshotted now).

        The event is stored, so ``GET /v1/events/{id}`` finds it.
        """
        with self._lock:
            snapshot = (
                self._render(self._get_any(obj), []) if isinstance(obj, str) else copy.deepcopy(dict(obj))
            )
            data: dict[str, Any] = {"object": snapshot}
            if previous_attributes is not None:
                data["previous_attributes"] = dict(previous_attributes)
            event = {
                "id": self._new_id("evt"),
                "object": "event",
                "api_version": API_VERSION,
                "created": created if created is not None else self.now(),
                "data": data,
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
                "type": type,
            }
            self._store(event)
            return copy.deepcopy(event)

    @staticmethod
    def sign(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
        """A real ``Stripe-Signature`` header: ``t=<unix>,v1=<hex HMAC-SHA256 of "t.payload">``."""
        body = payload.encode("utf-8") if isinstance(payload, str) else payload
        ts = int(time.time()) if timestamp is None else int(timestamp)
        mac = hmac.new(secret.encode("utf-8"), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
        return f"t={ts},v1={mac}"

    def signed_event(
        self, type: str, obj: Mapping[str, Any] | str, secret: str, *, timestamp: int | None = None
    ) -> SignedWebhook:
        """``make_event`` + JSON body + header, ready to POST to our webhook endpoint."""
        event = self.make_event(type, obj)
        payload = json.dumps(event, separators=(",", ":")).encode("utf-8")
        return SignedWebhook(event, payload, self.sign(payload, secret, timestamp))

    # =================================================================================== internals

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(12)}"

    def _store(self, obj: dict[str, Any]) -> dict[str, Any]:
        self._objects[obj["id"]] = obj
        self._seq[obj["id"]] = self._next_seq
        self._next_seq += 1
        return obj

    def _get(self, kind: str, obj_id: str, param: str = "id") -> dict[str, Any]:
        obj = self._objects.get(obj_id)
        if obj is None or obj["object"] != kind:
            raise missing(kind, obj_id, param)
        return obj

    def _get_any(self, obj_id: str) -> dict[str, Any]:
        if obj_id not in self._objects:
            raise KeyError(obj_id)
        return self._objects[obj_id]

    def _render(self, obj: Mapping[str, Any], expand: list[str]) -> dict[str, Any]:
        out = copy.deepcopy(dict(obj))
        for path in expand:
            self._expand(out, path.split("."), path)
        return out

    def _expand(self, node: dict[str, Any], parts: list[str], full: str) -> None:
        field, rest = parts[0], parts[1:]
        if field not in EXPANDABLE.get(node.get("object", ""), frozenset()):
            raise invalid(f"This property cannot be expanded ({full}).", param="expand")
        value = node.get(field)
        if isinstance(value, str):
            target = self._objects.get(value)
            if target is None:
                return
            value = node[field] = copy.deepcopy(target)
        if rest and isinstance(value, dict):
            self._expand(value, rest, full)

    # -- payment intent mechanics

    def _new_payment_intent(self, *, created: int | None = None, **fields: Any) -> dict[str, Any]:
        pi = payment_intent_record(self._new_id("pi"), created=created if created is not None else self.now(),
                                   **fields)
        self.created_payment_intents += 1
        return self._store(pi)

    def _fee(self, amount: int) -> int:
        return int(round(amount * self.fee_percent / 100)) + self.fee_fixed

    def _new_charge(
        self,
        pi: dict[str, Any],
        *,
        succeeded: bool,
        message: str = "",
        decline_code: str = "",
        created: int | None = None,
    ) -> dict[str, Any]:
        ts = created if created is not None else self.now()
        charge_id = self._new_id("ch")
        txn_id = None
        if succeeded:
            txn_id = self._store(charge_fee_transaction(pi, self._new_id("txn"), charge_id, self._fee(pi["amount"]),
                                                        ts))["id"]
        self.created_charges += 1
        return self._store(charge_record(pi, charge_id, txn_id, succeeded=succeeded, message=message,
                                         decline_code=decline_code, ts=ts))

    def _succeed(self, pi: dict[str, Any], created: int | None = None) -> None:
        charge = self._new_charge(pi, succeeded=True, created=created)
        pi.update(
            status="succeeded",
            amount_received=pi["amount"],
            latest_charge=charge["id"],
            last_payment_error=None,
            next_action=None,
            payment_method="pm_card_visa",
        )

    def _fail(self, pi: dict[str, Any], message: str, decline_code: str) -> dict[str, Any]:
        charge = self._new_charge(pi, succeeded=False, message=message, decline_code=decline_code)
        error = {
            "charge": charge["id"],
            "code": "card_declined",
            "decline_code": decline_code,
            "doc_url": "https://stripe.com/docs/error-codes/card-declined",
            "message": message,
            "type": "card_error",
        }
        pi.update(
            status="requires_payment_method",
            latest_charge=charge["id"],
            last_payment_error=error,
            next_action=None,
            payment_method=None,
        )
        return error

    def _succeeded_charge(self, pi: dict[str, Any]) -> dict[str, Any] | None:
        charge_id = pi.get("latest_charge")
        charge = self._objects.get(charge_id) if charge_id else None
        if charge is None or charge["status"] != "succeeded":
            return None
        return charge

    def _recompute_refunded(self, charge_id: str | None) -> None:
        if not charge_id or charge_id not in self._objects:
            return
        charge = self._objects[charge_id]
        total = sum(
            o["amount"]
            for o in self._objects.values()
            if o["object"] == "refund" and o["charge"] == charge_id and o["status"] in REFUND_HOLDING_STATUSES
        )
        charge["amount_refunded"] = total
        charge["refunded"] = total >= charge["amount"]

