"""A fake Stripe API server for tests, on the shared fake-server plumbing (tests/fakes/_http_fake.py).

It speaks enough of Stripe's v1 wire format for the official ``stripe`` library to use it through
``StripeClient(key, base_addresses={"api": fake.url})``:

* form-encoded request bodies / query strings with nested keys (``metadata[k]``, ``created[gte]``,
  ``expand[]`` or ``expand[0]``) — stripe_wire.py;
* JSON objects carrying ``"object": "payment_intent" | "charge" | "refund" | "list" | …`` — stripe_records.py,
  kept and moved by stripe_objects.py, served by stripe_endpoints.py;
* Stripe error bodies ``{"error": {"type", "message", "code", "param"}}`` with Stripe's status codes;
* Stripe's idempotency semantics (here): a POST with an ``Idempotency-Key`` that was seen before with the same
  method, path and parameters replays the first response (errors included, with
  ``Idempotent-Replayed: true``); the same key with different parameters or endpoint is a 400
  ``idempotency_error``; parameter-validation failures are *not* stored (as on Stripe); keys expire after
  24 h of (fake) clock time; a request whose key another request is still executing is a 409
  ``idempotency_key_in_use`` (see ``hold_execution_next``).

Test controls are plain Python methods (``succeed``, ``fail``, ``fail_next``, ``hold_next``, ``make_event``,
``sign`` …); ``calls(method, path)`` lists what the client sent, parameters decoded.
"""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes._http_fake import FakeHttpServer, Fault, Hold
from tests.fakes.stripe_endpoints import StripeEndpoints
from tests.fakes.stripe_objects import SignedWebhook
from tests.fakes.stripe_wire import (
    API_VERSION,
    FakeStripeError,
    LoggedRequest,
    injected_error,
    parse_params,
    to_json,
)

__all__ = ["FAKE_SECRET_KEY", "FAKE_WEBHOOK_SECRET", "FakeStripeServer", "LoggedRequest", "SignedWebhook",
           "parse_params"]

FAKE_SECRET_KEY = "sk_test_fake_stripe"  # any non-empty bearer key is accepted
FAKE_WEBHOOK_SECRET = "whsec_fake_stripe"
IDEMPOTENCY_TTL_SECONDS = 24 * 3600


@dataclass
class _StoredResponse:
    method: str
    path: str
    params: dict[str, Any]
    status: int
    body: bytes
    headers: dict[str, str]
    created: int


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    params: dict[str, Any] | None  # None: the parameters do not parse (see `error`)
    authorization: str
    idempotency_key: str | None
    error: FakeStripeError | None = None

    @property
    def cache_key(self) -> tuple[str, str] | None:
        if self.method == "POST" and self.idempotency_key:
            return self.authorization, self.idempotency_key
        return None


class FakeStripeServer(FakeHttpServer, StripeEndpoints):
    """In-memory Stripe on ``127.0.0.1:<random port>``. Use ``start()``/``stop()`` or ``with``."""

    protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers after a test's server stops

    def __init__(self, *, fee_percent: float = 2.9, fee_fixed: int = 30) -> None:
        FakeHttpServer.__init__(self)
        StripeEndpoints.__init__(self, fee_percent=fee_percent, fee_fixed=fee_fixed)
        self.reset()

    def reset(self) -> None:
        """Forget every object, key, log entry, counter, injected failure and clock override."""
        with self._lock:
            self.forget_objects()
            self._idempotency: dict[tuple[str, str], _StoredResponse] = {}
            self._executing: set[tuple[str, str]] = set()  # keys of requests Stripe is executing right now
            self._execution_holds: deque[Hold] = deque()
            self._faults.clear()
            self.requests.clear()
            self.request_log: list[LoggedRequest] = []
            self.replayed_requests = 0

    # -- test controls

    def fail_next(self, n: int = 1, status: int = 500, *, replayable: bool = False) -> None:
        """Make the next ``n`` requests fail before reaching an endpoint.

        ``status`` 500/502/503 → ``api_error``; 409 → ``lock_timeout``; 429 → ``rate_limit``; 0 → the
        connection is dropped without a response. By default the failure is *not* stored under the
        idempotency key (a gateway-level failure, so the library's retry can succeed). With
        ``replayable=True`` it is stored, like a 500 from inside Stripe: retries with the same key replay
        it (``Stripe-Should-Retry: false`` is sent, as Stripe does).
        """
        super().fail_next(n, status, replayable=replayable)

    def hold_execution_next(self) -> Hold:
        """The next request that gets past the key check waits *while executing* until the test releases it.

        Unlike `hold_next` (the network is slow: the request has not reached Stripe), its idempotency key is
        taken meanwhile: a concurrent request with the same key is answered 409 ``idempotency_key_in_use``.
        """
        hold = Hold()
        with self._lock:
            self._holds.append(hold)  # released when the server stops
            self._execution_holds.append(hold)
        return hold

    def forget_idempotency_keys(self) -> None:
        """Simulate Stripe pruning keys (it keeps them ≥ 24 h)."""
        with self._lock:
            self._idempotency.clear()

    def calls(self, method: str | None = None, path: str | None = None) -> list[LoggedRequest]:
        """The requests received (faulted ones included), parameters decoded, oldest first."""
        with self._lock:
            return [r for r in self.request_log
                    if (method is None or r.method == method) and (path is None or r.path == path)]

    # -- HTTP (called from handler threads)

    @staticmethod
    def _read(handler, method: str, body: bytes) -> _Request:
        split = urlsplit(handler.path)
        pairs = parse_qsl(split.query, keep_blank_values=True)
        if method == "POST" and body:
            pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        params, error = None, None
        try:
            params = parse_params(pairs)
        except FakeStripeError as exc:
            error = exc
        return _Request(method, split.path, params, handler.headers.get("Authorization", ""),
                        handler.headers.get("Idempotency-Key") or None, error)

    def record(self, handler, method: str, body: bytes) -> None:
        super().record(handler, method, body)
        request = self._read(handler, method, body)
        with self._lock:
            self.request_log.append(LoggedRequest(request.method, request.path, request.params or {},
                                                  request.idempotency_key))

    def _headers(self, request: _Request) -> dict[str, str]:
        headers = {"Request-Id": f"req_{secrets.token_hex(7)}", "Stripe-Version": API_VERSION}
        if request.cache_key is not None:
            headers["Idempotency-Key"] = request.idempotency_key
        return headers

    def fault_response(self, handler, method: str, body: bytes, fault: Fault):
        request = self._read(handler, method, body)
        headers = self._headers(request)
        status, payload = injected_error(fault.status)
        if fault.details.get("replayable"):
            headers["Stripe-Should-Retry"] = "false"
            with self._lock:
                if request.cache_key is not None and request.cache_key not in self._idempotency:
                    self._idempotency[request.cache_key] = _StoredResponse(
                        method, request.path, request.params or {}, status, payload, dict(headers), self.now())
        return status, headers, payload

    def handle(self, handler, method: str, path: str, body: bytes):
        request = self._read(handler, method, body)
        headers = self._headers(request)
        with self._lock:
            refusal = self._refusal(request, headers) or self._replay(request, headers)
            if refusal is not None:
                return refusal
            if not self._execution_holds:
                return self._execute(request, headers)  # at once: no other request sees it executing
            hold = self._execution_holds.popleft()
            if request.cache_key is not None:
                self._executing.add(request.cache_key)
        try:  # Stripe is slow while executing this one: its key is taken meanwhile
            hold.arrived.set()
            hold.released.wait()
            with self._lock:
                return self._execute(request, headers)
        finally:
            with self._lock:
                self._executing.discard(request.cache_key)

    def _refusal(self, request: _Request, headers: dict[str, str]):
        """Stripe's answer to a request that never starts executing (nothing stored under its key), or None."""
        if request.error is not None:
            return request.error.status, headers, to_json(request.error.body())
        auth = request.authorization
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            exc = FakeStripeError(
                401,
                "You did not provide an API key. You need to provide your API key in the Authorization "
                "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
            return exc.status, headers, to_json(exc.body())
        if request.cache_key is not None and request.cache_key in self._executing:
            exc = FakeStripeError(
                409,
                "There is currently another in-progress request using this Idempotent Key (that probably means "
                "you submitted twice, and the other request is still going through): "
                f"{request.idempotency_key}. Please try again later.",
                code="idempotency_key_in_use",
            )
            return exc.status, headers, to_json(exc.body())
        return None

    def _execute(self, request: _Request, headers: dict[str, str]):
        try:
            status, payload = self._route(request.method, request.path, request.params)
            stored_ok = True
        except FakeStripeError as exc:
            status, payload, stored_ok = exc.status, exc.body(), exc.stored
        data = to_json(payload)
        if request.cache_key is not None and stored_ok:
            headers["Original-Request"] = headers["Request-Id"]
            self._idempotency[request.cache_key] = _StoredResponse(
                request.method, request.path, request.params, status, data, dict(headers), self.now())
        return status, headers, data

    def _replay(self, request: _Request, headers: dict[str, str]):
        """The stored answer for a repeated idempotency key, or Stripe's error for a misused one (or None)."""
        if request.cache_key is None:
            return None
        stored = self._idempotency.get(request.cache_key)
        if stored is not None and self.now() - stored.created > IDEMPOTENCY_TTL_SECONDS:
            del self._idempotency[request.cache_key]
            stored = None
        if stored is None:
            return None
        if (stored.method, stored.path) != (request.method, request.path):
            exc = FakeStripeError(
                400,
                "Keys for idempotent requests can only be used for the same endpoint they were first used for "
                f"('{stored.method} {stored.path}' vs '{request.method} {request.path}'). Try using a key other "
                f"than '{request.idempotency_key}' if you meant to execute a different request.",
                type="idempotency_error",
            )
            return exc.status, headers, to_json(exc.body())
        if stored.params != request.params:
            exc = FakeStripeError(
                400,
                "Keys for idempotent requests can only be used with the same parameters they were first used "
                f"with. Try using a key other than '{request.idempotency_key}' if you meant to execute a "
                "different request.",
                type="idempotency_error",
            )
            return exc.status, headers, to_json(exc.body())
        self.replayed_requests += 1
        return stored.status, {**stored.headers, "Idempotent-Replayed": "true",
                               "Request-Id": headers["Request-Id"]}, stored.body
