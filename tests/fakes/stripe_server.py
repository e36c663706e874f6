"""A fake Stripe API server for tests (stdlib only).

It speaks enough of Stripe's v1 wire format for the official ``stripe`` library to use it through
``StripeClient(key, base_addresses={"api": fake.url})``:

* form-encoded request bodies / query strings with nested keys (``metadata[k]``, ``created[gte]``,
  ``expand[]`` or ``expand[0]``);
* JSON objects carrying ``"object": "payment_intent" | "charge" | "refund" | "list" | …``;
* Stripe error bodies ``{"error": {"type", "message", "code", "param"}}`` with Stripe's status codes;
* Stripe's idempotency semantics: a POST with an ``Idempotency-Key`` that was seen before with the same
  method, path and parameters replays the first response (errors included, with
  ``Idempotent-Replayed: true``); the same key with different parameters or endpoint is a 400
  ``idempotency_error``; parameter-validation failures are *not* stored (as on Stripe); keys expire after
  24 h of (fake) clock time.

State lives in memory behind one lock, so concurrent requests are serialised (tests fire 50 at once).
Test controls are plain Python methods (``succeed``, ``fail``, ``fail_next``, ``make_event``, ``sign`` …).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit

API_VERSION = "2025-01-01.fake"
FAKE_SECRET_KEY = "sk_test_fake_stripe"  # any non-empty bearer key is accepted
FAKE_WEBHOOK_SECRET = "whsec_fake_stripe"
IDEMPOTENCY_TTL_SECONDS = 24 * 3600
ACTIVE_PI_STATUSES = ("requires_payment_method", "requires_confirmation", "requires_action", "processing")
CANCELABLE_PI_STATUSES = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
)
UPDATABLE_PI_STATUSES = ("requires_payment_method", "requires_confirmation", "requires_action")
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
CANCELLATION_REASONS = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")
# Refunds in these states count against what is left to refund on the charge.
REFUND_HOLDING_STATUSES = ("pending", "requires_action", "succeeded")
LIST_BASE_PARAMS = frozenset({"limit", "starting_after", "ending_before", "created", "expand"})

# Which fields of each object type may be expanded, and by which object type they are resolved.
EXPANDABLE: dict[str, frozenset[str]] = {
    "payment_intent": frozenset({"latest_charge"}),
    "charge": frozenset({"balance_transaction", "payment_intent"}),
    "refund": frozenset({"balance_transaction", "charge", "payment_intent"}),
    "balance_transaction": frozenset({"source"}),
    "event": frozenset(),
}


class LoggedRequest(NamedTuple):
    method: str
    path: str
    params: dict[str, Any]
    idempotency_key: str | None


class SignedWebhook(NamedTuple):
    event: dict[str, Any]
    payload: bytes
    header: str


class FakeStripeError(Exception):
    """Raised inside endpoint handlers; rendered as a Stripe error body.

    ``stored=False`` marks validation failures, whose result Stripe does not keep under the idempotency
    key (the endpoint never started executing).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        stored: bool = True,
        extra: Mapping[str, Any] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.stored = stored
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            err["code"] = self.code
            err["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            err["param"] = self.param
        if self.decline_code:
            err["decline_code"] = self.decline_code
        err.update(self.extra)
        return {"error": err}


def _invalid(message: str, *, param: str | None = None, code: str | None = None) -> FakeStripeError:
    return FakeStripeError(400, message, param=param, code=code, stored=False)


def _missing(kind: str, obj_id: str, param: str = "id") -> FakeStripeError:
    return FakeStripeError(
        404, f"No such {kind}: '{obj_id}'", code="resource_missing", param=param, stored=True
    )


# ------------------------------------------------------------------------------------- form decoding

_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SUBKEY_RE = re.compile(r"\[([^\[\]]*)\]")
_NO_LISTIFY = frozenset({"metadata"})  # metadata keys may be digits; never turn it into a list


def parse_params(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Decode Stripe/Rack-style nested form keys into dicts and lists.

    ``a[b]=1`` → ``{"a": {"b": "1"}}``; ``x[]=1&x[]=2`` and ``x[0]=1&x[1]=2`` → ``{"x": ["1", "2"]}``.
    Values stay strings, as on the wire.
    """
    root: dict[str, Any] = {}
    for raw_key, value in pairs:
        m = _KEY_RE.match(raw_key)
        if not m:
            raise _invalid(f"Invalid parameter name: {raw_key}", param=raw_key)
        tokens = [m.group(1), *_SUBKEY_RE.findall(m.group(2))]
        node: dict[str, Any] = root
        for i, token in enumerate(tokens):
            last = i == len(tokens) - 1
            key = str(len(node)) if token == "" else token
            if last:
                if isinstance(node.get(key), dict):
                    raise _invalid(f"Invalid parameter: {raw_key} is both a hash and a value", param=raw_key)
                node[key] = value
            else:
                child = node.setdefault(key, {})
                if not isinstance(child, dict):
                    if child == "":
                        # `metadata=` followed by `metadata[k]=v`; treat the blank as an empty hash.
                        child = node[key] = {}
                    else:
                        raise _invalid(
                            f"Invalid parameter: {raw_key} is both a value and a hash", param=raw_key
                        )
                node = child
    return _listify(root, None)


def _listify(value: Any, name: str | None) -> Any:
    if not isinstance(value, dict):
        return value
    converted = {k: _listify(v, k) for k, v in value.items()}
    if name not in _NO_LISTIFY and converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


# ------------------------------------------------------------------------------------ value coercion


def _check_params(params: Mapping[str, Any], allowed: Iterable[str]) -> None:
    allowed_set = set(allowed)
    for key in params:
        if key not in allowed_set:
            raise _invalid(f"Received unknown parameter: {key}", param=key, code="parameter_unknown")


def _int(
    params: Mapping[str, Any], name: str, *, required: bool = False, default: int | None = None
) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        if required:
            raise _invalid(f"Missing required param: {name}.", param=name, code="parameter_missing")
        return default
    if isinstance(raw, dict | list) or not re.fullmatch(r"-?\d+", raw):
        raise _invalid(f"Invalid integer: {raw}", param=name, code="parameter_invalid_integer")
    return int(raw)


def _bool(params: Mapping[str, Any], name: str, default: bool = False) -> bool:
    raw = params.get(name)
    if raw is None:
        return default
    if raw in ("true", "false"):
        return raw == "true"
    raise _invalid(f"Invalid boolean: {raw}", param=name, code="parameter_invalid_boolean")


def _str(params: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    raw = params.get(name)
    if raw is None:
        if required:
            raise _invalid(f"Missing required param: {name}.", param=name, code="parameter_missing")
        return None
    if not isinstance(raw, str):
        raise _invalid(f"Invalid string: {raw!r}", param=name, code="parameter_invalid_string")
    return raw


def _enum(params: Mapping[str, Any], name: str, choices: Iterable[str]) -> str | None:
    raw = _str(params, name)
    if raw is None or raw == "":
        return None
    options = tuple(choices)
    if raw not in options:
        raise _invalid(
            f"Invalid {name}: must be one of {', '.join(options)}",
            param=name,
            code="parameter_invalid_string",
        )
    return raw


def _metadata(params: Mapping[str, Any], current: Mapping[str, str] | None = None) -> dict[str, str]:
    result = dict(current or {})
    raw = params.get("metadata")
    if raw is None:
        return result
    if raw == "":
        return {}
    if not isinstance(raw, dict):
        raise _invalid("Invalid hash", param="metadata", code="parameter_invalid_hash")
    for key, value in raw.items():
        if not isinstance(value, str):
            raise _invalid("Metadata values must be strings.", param=f"metadata[{key}]")
        if len(key) > 40:
            raise _invalid("Metadata keys can have up to 40 characters.", param=f"metadata[{key}]")
        if len(value) > 500:
            raise _invalid("Metadata values can have up to 500 characters.", param=f"metadata[{key}]")
        if value == "":
            result.pop(key, None)
        else:
            result[key] = value
    if len(result) > 50:
        raise _invalid("You can have up to 50 metadata keys.", param="metadata")
    return result


def _expand_paths(params: Mapping[str, Any]) -> list[str]:
    raw = params.get("expand")
    if raw is None:
        return []
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and all(isinstance(p, str) for p in raw):
        return list(raw)
    raise _invalid("Invalid array", param="expand", code="parameter_invalid_array")


def _money(cents: int) -> str:
    return f"${cents / 100:,.2f}"


# ------------------------------------------------------------------------------------------- server


@dataclass
class _StoredResponse:
    method: str
    path: str
    params: dict[str, Any]
    status: int
    body: bytes
    headers: dict[str, str]
    created: int


@dataclass
class _InjectedFailure:
    status: int
    replayable: bool


class FakeStripeServer:
    """In-memory Stripe on ``127.0.0.1:<random port>``. Use ``start()``/``stop()`` or ``with``."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, fee_percent: float = 2.9, fee_fixed: int = 30
    ):
        self.host = host
        self._requested_port = port
        self.fee_percent = fee_percent
        self.fee_fixed = fee_fixed
        self._lock = threading.RLock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # -- lifecycle

    def start(self) -> FakeStripeServer:
        if self._httpd is not None:
            return self
        httpd = _HTTPServer((self.host, self._requested_port), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-stripe", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeStripeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("fake Stripe server is not running")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """Base address for ``StripeClient(base_addresses={"api": url})`` / ``STRIPE_API_BASE``."""
        return f"http://{self.host}:{self.port}"

    def reset(self) -> None:
        """Forget every object, key, log entry, counter, injected failure and clock override."""
        with self._lock:
            self._hangs: list[float] = []
            self._objects: dict[str, dict[str, Any]] = {}
            self._seq: dict[str, int] = {}
            self._next_seq = 0
            self._idempotency: dict[tuple[str, str], _StoredResponse] = {}
            self._failures: list[_InjectedFailure] = []
            self._now: int | None = None
            self.request_log: list[LoggedRequest] = []
            self.created_payment_intents = 0
            self.created_refunds = 0
            self.created_charges = 0
            self.replayed_requests = 0
            self.refund_initial_status = "succeeded"

    # -- clock

    def now(self) -> int:
        return self._now if self._now is not None else int(time.time())

    def set_clock(self, timestamp: int | None) -> None:
        """Freeze the fake's clock (``created`` of new objects, key expiry); ``None`` → wall clock."""
        with self._lock:
            self._now = timestamp

    # -- test controls: failures and idempotency

    def fail_next(self, n: int = 1, status: int = 500, *, replayable: bool = False) -> None:
        """Make the next ``n`` requests fail before reaching an endpoint.

        ``status`` 500/502/503 → ``api_error``; 409 → ``lock_timeout``; 429 → ``rate_limit``; 0 → the
        connection is dropped without a response. By default the failure is *not* stored under the
        idempotency key (a gateway-level failure, so the library's retry can succeed). With
        ``replayable=True`` it is stored, like a 500 from inside Stripe: retries with the same key replay
        it (``Stripe-Should-Retry: false`` is sent, as Stripe does).
        """
        with self._lock:
            self._failures.extend(_InjectedFailure(status, replayable) for _ in range(n))

    def hang_next(self, n: int = 1, seconds: float = 5.0) -> None:
        """The next `n` requests wait `seconds` before being answered (a provider hanging past our timeout)."""
        with self._lock:
            self._hangs.extend([seconds] * n)

    def _take_hang(self) -> float:
        with self._lock:
            return self._hangs.pop(0) if self._hangs else 0.0

    def forget_idempotency_keys(self) -> None:
        """Simulate Stripe pruning keys (it keeps them ≥ 24 h)."""
        with self._lock:
            self._idempotency.clear()

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
        with self._lock:
            pi = self._get("payment_intent", pi_id)
            if pi["status"] not in ACTIVE_PI_STATUSES:
                raise ValueError(f"cannot move {pi_id} from {pi['status']} to processing")
            pi["status"] = "processing"
            return self._render(pi, [])

    def require_action(self, pi_id: str) -> dict[str, Any]:
        with self._lock:
            pi = self._get("payment_intent", pi_id)
            if pi["status"] not in ACTIVE_PI_STATUSES:
                raise ValueError(f"cannot move {pi_id} from {pi['status']} to requires_action")
            pi["status"] = "requires_action"
            pi["next_action"] = {"type": "use_stripe_sdk", "use_stripe_sdk": {}}
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

    def requests(self, method: str | None = None, path: str | None = None) -> list[LoggedRequest]:
        with self._lock:
            return [
                r
                for r in self.request_log
                if (method is None or r.method == method) and (path is None or r.path == path)
            ]

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
            raise _missing(kind, obj_id, param)
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
            raise _invalid(f"This property cannot be expanded ({full}).", param="expand")
        value = node.get(field)
        if isinstance(value, str):
            target = self._objects.get(value)
            if target is None:
                return
            value = node[field] = copy.deepcopy(target)
        if rest and isinstance(value, dict):
            self._expand(value, rest, full)

    # -- payment intent mechanics

    def _new_payment_intent(
        self,
        *,
        amount: int,
        currency: str,
        metadata: dict[str, str],
        description: str | None,
        automatic: bool,
        payment_method_types: list[str] | None,
        created: int | None = None,
        receipt_email: str | None = None,
    ) -> dict[str, Any]:
        pi_id = self._new_id("pi")
        pi = {
            "id": pi_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_details": {"tip": {}},
            "amount_received": 0,
            "application": None,
            "application_fee_amount": None,
            "automatic_payment_methods": {"allow_redirects": "always", "enabled": True}
            if automatic
            else None,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": "automatic_async",
            "client_secret": f"{pi_id}_secret_{secrets.token_hex(12)}",
            "confirmation_method": "automatic",
            "created": created if created is not None else self.now(),
            "currency": currency,
            "customer": None,
            "description": description,
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": metadata,
            "next_action": None,
            "on_behalf_of": None,
            "payment_method": None,
            "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
            "payment_method_types": payment_method_types or ["card", "link"],
            "processing": None,
            "receipt_email": receipt_email,
            "review": None,
            "setup_future_usage": None,
            "shipping": None,
            "statement_descriptor": None,
            "statement_descriptor_suffix": None,
            "status": "requires_payment_method",
            "transfer_data": None,
            "transfer_group": None,
        }
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
            fee = self._fee(pi["amount"])
            txn = {
                "id": self._new_id("txn"),
                "object": "balance_transaction",
                "amount": pi["amount"],
                "available_on": ts + 2 * 86400,
                "created": ts,
                "currency": pi["currency"],
                "description": pi["description"],
                "exchange_rate": None,
                "fee": fee,
                "fee_details": [
                    {
                        "amount": fee,
                        "application": None,
                        "currency": pi["currency"],
                        "description": "Stripe processing fees",
                        "type": "stripe_fee",
                    }
                ],
                "net": pi["amount"] - fee,
                "reporting_category": "charge",
                "source": charge_id,
                "status": "pending",
                "type": "charge",
            }
            self._store(txn)
            txn_id = txn["id"]
        charge = {
            "id": charge_id,
            "object": "charge",
            "amount": pi["amount"],
            "amount_captured": pi["amount"] if succeeded else 0,
            "amount_refunded": 0,
            "balance_transaction": txn_id,
            "captured": succeeded,
            "created": ts,
            "currency": pi["currency"],
            "customer": None,
            "description": pi["description"],
            "disputed": False,
            "failure_code": None if succeeded else "card_declined",
            "failure_message": None if succeeded else message,
            "livemode": False,
            "metadata": dict(pi["metadata"]),
            "outcome": (
                {
                    "network_status": "approved_by_network",
                    "reason": None,
                    "risk_level": "normal",
                    "seller_message": "Payment complete.",
                    "type": "authorized",
                }
                if succeeded
                else {
                    "network_status": "declined_by_network",
                    "reason": decline_code,
                    "risk_level": "normal",
                    "seller_message": "The bank did not return any further details with this decline.",
                    "type": "issuer_declined",
                }
            ),
            "paid": succeeded,
            "payment_intent": pi["id"],
            "payment_method": "pm_card_visa",
            "receipt_url": None,
            "refunded": False,
            "status": "succeeded" if succeeded else "failed",
        }
        self.created_charges += 1
        return self._store(charge)

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

    # -- HTTP dispatch (called from handler threads)

    def _dispatch(
        self,
        method: str,
        path: str,
        pairs: list[tuple[str, str]],
        authorization: str,
        idempotency_key: str | None,
    ) -> tuple[int, bytes, dict[str, str]]:
        """Returns (status, body, headers); status 0 means 'drop the connection'."""
        request_id = f"req_{secrets.token_hex(7)}"
        headers = {"Request-Id": request_id, "Stripe-Version": API_VERSION}
        if method == "POST" and idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        with self._lock:
            try:
                params = parse_params(pairs)
            except FakeStripeError as exc:
                self.request_log.append(LoggedRequest(method, path, {}, idempotency_key))
                return exc.status, _json(exc.body()), headers
            self.request_log.append(LoggedRequest(method, path, params, idempotency_key))

            cache_key = (authorization, idempotency_key) if (method == "POST" and idempotency_key) else None

            if self._failures:
                failure = self._failures.pop(0)
                if failure.status == 0:
                    return 0, b"", headers
                status, body = _injected(failure.status)
                if failure.replayable:
                    headers["Stripe-Should-Retry"] = "false"
                    if cache_key is not None and cache_key not in self._idempotency:
                        self._idempotency[cache_key] = _StoredResponse(
                            method, path, params, status, body, dict(headers), self.now()
                        )
                return status, body, headers

            if not authorization.startswith("Bearer ") or not authorization[7:].strip():
                exc = FakeStripeError(
                    401,
                    "You did not provide an API key. You need to provide your API key in the Authorization "
                    "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
                )
                return exc.status, _json(exc.body()), headers

            if cache_key is not None:
                stored = self._idempotency.get(cache_key)
                if stored is not None and self.now() - stored.created > IDEMPOTENCY_TTL_SECONDS:
                    del self._idempotency[cache_key]
                    stored = None
                if stored is not None:
                    if (stored.method, stored.path) != (method, path):
                        exc = FakeStripeError(
                            400,
                            "Keys for idempotent requests can only be used for the same endpoint they were "
                            f"first used for ('{stored.method} {stored.path}' vs '{method} {path}'). Try using "
                            f"a key other than '{idempotency_key}' if you meant to execute a different request.",
                            type="idempotency_error",
                        )
                        return exc.status, _json(exc.body()), headers
                    if stored.params != params:
                        exc = FakeStripeError(
                            400,
                            "Keys for idempotent requests can only be used with the same parameters they were "
                            f"first used with. Try using a key other than '{idempotency_key}' if you meant to "
                            "execute a different request.",
                            type="idempotency_error",
                        )
                        return exc.status, _json(exc.body()), headers
                    self.replayed_requests += 1
                    replay_headers = {
                        **stored.headers,
                        "Idempotent-Replayed": "true",
                        "Request-Id": request_id,
                    }
                    return stored.status, stored.body, replay_headers

            try:
                status, payload = self._route(method, path, params)
                stored_ok = True
            except FakeStripeError as exc:
                status, payload, stored_ok = exc.status, exc.body(), exc.stored
            body = _json(payload)
            if cache_key is not None and stored_ok:
                headers["Original-Request"] = request_id
                self._idempotency[cache_key] = _StoredResponse(
                    method, path, params, status, body, dict(headers), self.now()
                )
            return status, body, headers

    def _route(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        for route_method, pattern, handler in self._routes():
            if route_method != method:
                continue
            m = pattern.fullmatch(path)
            if m:
                return 200, handler(params, *(unquote(g) for g in m.groups()))
        raise FakeStripeError(
            404,
            f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help "
            "at https://support.stripe.com/.",
            stored=False,
        )

    def _routes(self) -> list[tuple[str, re.Pattern[str], Callable[..., dict[str, Any]]]]:
        seg = r"([^/]+)"
        return [
            ("POST", re.compile(r"/v1/payment_intents"), self._pi_create),
            ("GET", re.compile(r"/v1/payment_intents"), self._pi_list),
            ("GET", re.compile(rf"/v1/payment_intents/{seg}"), self._pi_retrieve),
            ("POST", re.compile(rf"/v1/payment_intents/{seg}"), self._pi_update),
            ("POST", re.compile(rf"/v1/payment_intents/{seg}/cancel"), self._pi_cancel),
            ("POST", re.compile(rf"/v1/payment_intents/{seg}/confirm"), self._pi_confirm),
            ("POST", re.compile(r"/v1/refunds"), self._refund_create),
            ("GET", re.compile(r"/v1/refunds"), self._refund_list),
            ("GET", re.compile(rf"/v1/refunds/{seg}"), self._refund_retrieve),
            ("POST", re.compile(rf"/v1/refunds/{seg}"), self._refund_update),
            ("GET", re.compile(r"/v1/charges"), self._charge_list),
            ("GET", re.compile(rf"/v1/charges/{seg}"), self._charge_retrieve),
            ("GET", re.compile(rf"/v1/balance_transactions/{seg}"), self._txn_retrieve),
            ("GET", re.compile(rf"/v1/events/{seg}"), self._event_retrieve),
        ]

    # -- endpoints: payment intents

    def _pi_create(self, params: dict[str, Any]) -> dict[str, Any]:
        _check_params(
            params,
            {
                "amount",
                "currency",
                "automatic_payment_methods",
                "metadata",
                "description",
                "payment_method_types",
                "receipt_email",
                "expand",
                "confirm",
                "payment_method",
            },
        )
        amount = _int(params, "amount", required=True)
        assert amount is not None
        currency = _str(params, "currency", required=True) or ""
        if not re.fullmatch(r"[a-zA-Z]{3}", currency):
            raise _invalid(
                f"Invalid currency: {currency}.", param="currency", code="parameter_invalid_string"
            )
        currency = currency.lower()
        if amount < 50:
            raise _invalid(
                f"Amount must be at least $0.50 {currency}", param="amount", code="amount_too_small"
            )
        if amount > 99_999_999:
            raise _invalid("Amount must be no more than $999,999.99", param="amount", code="amount_too_large")
        apm = params.get("automatic_payment_methods")
        automatic = False
        if apm is not None:
            if not isinstance(apm, dict):
                raise _invalid(
                    "Invalid hash", param="automatic_payment_methods", code="parameter_invalid_hash"
                )
            _check_params(apm, {"enabled", "allow_redirects"})
            automatic = _bool(apm, "enabled")
        pm_types = params.get("payment_method_types")
        if pm_types is not None and automatic:
            raise _invalid(
                "You may only specify one of these parameters: automatic_payment_methods, payment_method_types.",
                param="payment_method_types",
            )
        if pm_types is not None and not (
            isinstance(pm_types, list) and all(isinstance(t, str) for t in pm_types)
        ):
            raise _invalid("Invalid array", param="payment_method_types", code="parameter_invalid_array")
        expand = _expand_paths(params)
        pi = self._new_payment_intent(
            amount=amount,
            currency=currency,
            metadata=_metadata(params),
            description=_str(params, "description") or None,
            automatic=automatic or (apm is None and pm_types is None),
            payment_method_types=pm_types,
            receipt_email=_str(params, "receipt_email") or None,
        )
        if _bool(params, "confirm"):
            self._confirm(pi, _str(params, "payment_method"))
        return self._render(pi, expand)

    def _pi_retrieve(self, params: dict[str, Any], pi_id: str) -> dict[str, Any]:
        _check_params(params, {"expand", "client_secret"})
        return self._render(self._get("payment_intent", pi_id, "intent"), _expand_paths(params))

    def _pi_update(self, params: dict[str, Any], pi_id: str) -> dict[str, Any]:
        _check_params(params, {"amount", "currency", "description", "metadata", "receipt_email", "expand"})
        pi = self._get("payment_intent", pi_id, "intent")
        changes_money = "amount" in params or "currency" in params
        if changes_money and pi["status"] not in UPDATABLE_PI_STATUSES:
            raise FakeStripeError(
                400,
                f"This PaymentIntent's amount could not be updated because it has a status of {pi['status']}. "
                f"You may only update the amount of a PaymentIntent with one of the following statuses: "
                f"{', '.join(UPDATABLE_PI_STATUSES)}.",
                code="payment_intent_unexpected_state",
                extra={"payment_intent": self._render(pi, [])},
            )
        amount = _int(params, "amount")
        if amount is not None:
            if amount < 50:
                raise _invalid("Amount must be at least $0.50 usd", param="amount", code="amount_too_small")
            pi["amount"] = amount
        currency = _str(params, "currency")
        if currency:
            pi["currency"] = currency.lower()
        if "description" in params:
            pi["description"] = _str(params, "description") or None
        if "receipt_email" in params:
            pi["receipt_email"] = _str(params, "receipt_email") or None
        pi["metadata"] = _metadata(params, pi["metadata"])
        return self._render(pi, _expand_paths(params))

    def _pi_cancel(self, params: dict[str, Any], pi_id: str) -> dict[str, Any]:
        _check_params(params, {"cancellation_reason", "expand"})
        reason = _enum(params, "cancellation_reason", CANCELLATION_REASONS)
        pi = self._get("payment_intent", pi_id, "intent")
        if pi["status"] not in CANCELABLE_PI_STATUSES:
            raise FakeStripeError(
                400,
                f"You cannot cancel this PaymentIntent because it has a status of {pi['status']}. Only a "
                f"PaymentIntent with one of the following statuses may be canceled: "
                f"{', '.join(CANCELABLE_PI_STATUSES)}.",
                code="payment_intent_unexpected_state",
                extra={"payment_intent": self._render(pi, [])},
            )
        pi.update(status="canceled", canceled_at=self.now(), cancellation_reason=reason, next_action=None)
        return self._render(pi, _expand_paths(params))

    def _pi_confirm(self, params: dict[str, Any], pi_id: str) -> dict[str, Any]:
        """Test helper: ``payment_method=pm_card_chargeDeclined`` declines (402), anything else succeeds."""
        _check_params(params, {"payment_method", "return_url", "expand"})
        pi = self._get("payment_intent", pi_id, "intent")
        self._confirm(pi, _str(params, "payment_method"))
        return self._render(pi, _expand_paths(params))

    def _confirm(self, pi: dict[str, Any], payment_method: str | None) -> None:
        if pi["status"] not in UPDATABLE_PI_STATUSES:
            raise FakeStripeError(
                400,
                f"This PaymentIntent's status is {pi['status']}, so it cannot be confirmed.",
                code="payment_intent_unexpected_state",
                extra={"payment_intent": self._render(pi, [])},
            )
        if payment_method in ("pm_card_chargeDeclined", "pm_card_visa_chargeDeclined"):
            error = self._fail(pi, "Your card was declined.", "generic_decline")
            raise FakeStripeError(
                402,
                error["message"],
                type="card_error",
                code="card_declined",
                decline_code="generic_decline",
                extra={"charge": error["charge"], "payment_intent": self._render(pi, [])},
            )
        self._succeed(pi)

    def _pi_list(self, params: dict[str, Any]) -> dict[str, Any]:
        _check_params(params, LIST_BASE_PARAMS | {"customer"})
        items = [o for o in self._objects.values() if o["object"] == "payment_intent"]
        customer = _str(params, "customer")
        if customer:
            items = [o for o in items if o["customer"] == customer]
        return self._list(items, params, "/v1/payment_intents", "payment_intent")

    # -- endpoints: refunds

    def _refund_create(self, params: dict[str, Any]) -> dict[str, Any]:
        _check_params(params, {"payment_intent", "charge", "amount", "reason", "metadata", "expand"})
        pi_id = _str(params, "payment_intent")
        charge_id = _str(params, "charge")
        if not pi_id and not charge_id:
            raise _invalid(
                "One of the following params should be provided for this request: payment_intent or charge.",
                code="parameter_missing",
            )
        amount = _int(params, "amount")
        if amount is not None and amount <= 0:
            raise _invalid("Invalid positive integer", param="amount", code="parameter_invalid_integer")
        reason = _enum(params, "reason", REFUND_REASONS)
        metadata = _metadata(params)
        expand = _expand_paths(params)

        if pi_id:
            pi = self._get("payment_intent", pi_id, "payment_intent")
            charge = self._succeeded_charge(pi)
            if charge is None:
                raise FakeStripeError(
                    400,
                    f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                    code="charge_not_refundable",
                    param="payment_intent",
                )
            if charge_id and charge_id != charge["id"]:
                raise _invalid("The charge does not belong to this PaymentIntent.", param="charge")
        else:
            assert charge_id is not None
            charge = self._get("charge", charge_id, "charge")
            if charge["status"] != "succeeded":
                raise FakeStripeError(
                    400, f"Charge {charge_id} has not succeeded.", code="charge_not_refundable"
                )

        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining <= 0:
            raise FakeStripeError(
                400,
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
                param="charge" if not pi_id else "payment_intent",
            )
        if amount is None:
            amount = remaining
        if amount > remaining:
            raise FakeStripeError(
                400,
                f"Refund amount ({_money(amount)}) is greater than unrefunded amount on charge "
                f"({_money(remaining)})",
                code="amount_too_large",
                param="amount",
            )
        now = self.now()
        txn = self._store(
            {
                "id": self._new_id("txn"),
                "object": "balance_transaction",
                "amount": -amount,
                "available_on": now,
                "created": now,
                "currency": charge["currency"],
                "description": "REFUND FOR CHARGE",
                "exchange_rate": None,
                "fee": 0,
                "fee_details": [],
                "net": -amount,
                "reporting_category": "refund",
                "source": None,
                "status": "available",
                "type": "refund",
            }
        )
        refund = self._store(
            {
                "id": self._new_id("re"),
                "object": "refund",
                "amount": amount,
                "balance_transaction": txn["id"],
                "charge": charge["id"],
                "created": now,
                "currency": charge["currency"],
                "destination_details": {"card": {"type": "refund"}, "type": "card"},
                "failure_balance_transaction": None,
                "failure_reason": None,
                "metadata": metadata,
                "payment_intent": charge["payment_intent"],
                "reason": reason,
                "receipt_number": None,
                "source_transfer_reversal": None,
                "status": self.refund_initial_status,
                "transfer_reversal": None,
            }
        )
        txn["source"] = refund["id"]
        self.created_refunds += 1
        self._recompute_refunded(charge["id"])
        return self._render(refund, expand)

    def _refund_retrieve(self, params: dict[str, Any], refund_id: str) -> dict[str, Any]:
        _check_params(params, {"expand"})
        return self._render(self._get("refund", refund_id, "refund"), _expand_paths(params))

    def _refund_update(self, params: dict[str, Any], refund_id: str) -> dict[str, Any]:
        _check_params(params, {"metadata", "expand"})
        refund = self._get("refund", refund_id, "refund")
        refund["metadata"] = _metadata(params, refund["metadata"])
        return self._render(refund, _expand_paths(params))

    def _refund_list(self, params: dict[str, Any]) -> dict[str, Any]:
        _check_params(params, LIST_BASE_PARAMS | {"payment_intent", "charge"})
        items = [o for o in self._objects.values() if o["object"] == "refund"]
        for name in ("payment_intent", "charge"):
            value = _str(params, name)
            if value:
                items = [o for o in items if o[name] == value]
        return self._list(items, params, "/v1/refunds", "refund")

    # -- endpoints: charges, balance transactions, events

    def _charge_retrieve(self, params: dict[str, Any], charge_id: str) -> dict[str, Any]:
        _check_params(params, {"expand"})
        return self._render(self._get("charge", charge_id, "charge"), _expand_paths(params))

    def _charge_list(self, params: dict[str, Any]) -> dict[str, Any]:
        _check_params(params, LIST_BASE_PARAMS | {"payment_intent"})
        items = [o for o in self._objects.values() if o["object"] == "charge"]
        pi_id = _str(params, "payment_intent")
        if pi_id:
            items = [o for o in items if o["payment_intent"] == pi_id]
        return self._list(items, params, "/v1/charges", "charge")

    def _txn_retrieve(self, params: dict[str, Any], txn_id: str) -> dict[str, Any]:
        _check_params(params, {"expand"})
        return self._render(self._get("balance_transaction", txn_id), _expand_paths(params))

    def _event_retrieve(self, params: dict[str, Any], event_id: str) -> dict[str, Any]:
        _check_params(params, {"expand"})
        return self._render(self._get("event", event_id), [])

    # -- lists

    def _list(
        self, items: list[dict[str, Any]], params: dict[str, Any], url: str, kind: str
    ) -> dict[str, Any]:
        limit = _int(params, "limit", default=10)
        assert limit is not None
        if not 1 <= limit <= 100:
            raise _invalid(
                "This value must be between 1 and 100.", param="limit", code="parameter_invalid_integer"
            )
        created = params.get("created")
        if isinstance(created, str):
            exact = _int(params, "created")
            items = [o for o in items if o["created"] == exact]
        elif isinstance(created, dict):
            _check_params(created, {"gt", "gte", "lt", "lte"})
            bounds = {op: _int(created, op) for op in ("gt", "gte", "lt", "lte")}
            tests: dict[str, Callable[[int, int], bool]] = {
                "gt": lambda a, b: a > b,
                "gte": lambda a, b: a >= b,
                "lt": lambda a, b: a < b,
                "lte": lambda a, b: a <= b,
            }
            for op, bound in bounds.items():
                if bound is not None:
                    items = [o for o in items if tests[op](o["created"], bound)]
        elif created is not None:
            raise _invalid("Invalid created", param="created")

        # Stripe lists newest first; ties broken by creation order so cursors are stable.
        items.sort(key=lambda o: (o["created"], self._seq[o["id"]]), reverse=True)
        starting_after = _str(params, "starting_after")
        ending_before = _str(params, "ending_before")
        if starting_after and ending_before:
            raise _invalid("You may only specify one of these parameters: starting_after, ending_before.")
        if starting_after:
            cursor = self._objects.get(starting_after)
            if cursor is None or cursor["object"] != kind:
                raise _missing(kind, starting_after, "starting_after")
            key = (cursor["created"], self._seq[cursor["id"]])
            after = [o for o in items if (o["created"], self._seq[o["id"]]) < key]
            page, has_more = after[:limit], len(after) > limit
        elif ending_before:
            cursor = self._objects.get(ending_before)
            if cursor is None or cursor["object"] != kind:
                raise _missing(kind, ending_before, "ending_before")
            key = (cursor["created"], self._seq[cursor["id"]])
            before = [o for o in items if (o["created"], self._seq[o["id"]]) > key]
            page, has_more = before[-limit:], len(before) > limit
        else:
            page, has_more = items[:limit], len(items) > limit

        expand = []
        for path in _expand_paths(params):
            if not path.startswith("data."):
                raise _invalid(f"This property cannot be expanded ({path}).", param="expand")
            expand.append(path[len("data.") :])
        return {
            "object": "list",
            "data": [self._render(o, expand) for o in page],
            "has_more": has_more,
            "url": url,
        }


def _json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, indent=2).encode("utf-8")


def _injected(status: int) -> tuple[int, bytes]:
    if status == 409:
        err = FakeStripeError(
            409,
            "This object cannot be accessed right now because another API request or Stripe process is "
            "currently accessing it.",
            code="lock_timeout",
        )
    elif status == 429:
        err = FakeStripeError(
            429,
            "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
            code="rate_limit",
        )
    else:
        err = FakeStripeError(
            status, "Something went wrong on Stripe's end. (injected by the fake)", type="api_error"
        )
    return err.status, _json(err.body())


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default of 5 makes 50 simultaneous connects stall on SYN retries
    fake: FakeStripeServer


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.0"  # one request per connection keeps shutdown simple

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        hang = self.server.fake._take_hang()
        if hang:
            time.sleep(hang)
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        pairs = parse_qsl(split.query, keep_blank_values=True)
        if method == "POST" and body:
            pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        status, payload, headers = self.server.fake._dispatch(
            method,
            split.path,
            pairs,
            self.headers.get("Authorization", ""),
            self.headers.get("Idempotency-Key") or None,
        )
        if status == 0:
            self.close_connection = True
            return
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass
