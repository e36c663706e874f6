"""Thin typed wrapper over the official ``stripe`` library (v16, ``stripe.StripeClient``).

Everything returned is a frozen dataclass of plain values, and every library error is translated into
one of the exceptions defined here, so callers never handle ``stripe`` types directly.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import stripe

DEFAULT_MAX_NETWORK_RETRIES = 2
DEFAULT_WEBHOOK_TOLERANCE = 300  # seconds; the library's own default, keep it (FIELD_NOTES)
_LIST_PAGE_SIZE = 100

_T = TypeVar("_T")


# --------------------------------------------------------------------------------------------- errors


class StripeIntegrationError(Exception):
    """Base class of every error raised by this module."""


class StripeUnavailable(StripeIntegrationError):
    """Stripe could not be reached or failed on its side (network, 5xx, 409 lock, rate limit).

    Retryable later with the *same* idempotency key.
    """

    def __init__(self, message: str, *, http_status: int | None = None, request_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.request_id = request_id


class StripeRequestError(StripeIntegrationError):
    """Stripe refused the request (4xx): card declined, invalid parameters, idempotency mismatch, auth…

    Retrying the same request will fail the same way.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        error_type: str | None = None,
        http_status: int | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        request_id: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.error_type = error_type
        self.http_status = http_status
        self.param = param
        self.decline_code = decline_code
        self.request_id = request_id

    @property
    def is_not_found(self) -> bool:
        return self.http_status == 404 or self.code == "resource_missing"

    @property
    def is_idempotency_error(self) -> bool:
        return self.error_type == "idempotency_error"

    def __repr__(self) -> str:
        return (
            f"StripeRequestError(code={self.code!r}, type={self.error_type!r}, "
            f"http_status={self.http_status!r}, message={self.message!r})"
        )


class SignatureError(Exception):
    """A webhook payload failed verification (signature, timestamp, secret or JSON)."""


def _translate(exc: stripe.StripeError) -> StripeIntegrationError:
    status = exc.http_status
    request_id = exc.request_id
    message = exc.user_message or str(exc) or exc.__class__.__name__
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError | stripe.APIError) or (
        status is not None and (status >= 500 or status == 409)
    ):
        return StripeUnavailable(message, http_status=status, request_id=request_id)

    # ErrorObject is a StripeObject without dict methods; work on a plain copy.
    err: dict[str, Any] = exc.error.to_dict() if exc.error is not None else {}
    error_type = err.get("type")
    code = err.get("code") or exc.code
    if isinstance(exc, stripe.IdempotencyError):
        # The library drops `code` for idempotency errors; expose the type as the code.
        error_type = error_type or "idempotency_error"
        code = code or "idempotency_error"
    elif isinstance(exc, stripe.AuthenticationError):
        error_type = error_type or "authentication_error"
        code = code or "authentication_error"
    elif isinstance(exc, stripe.PermissionError):
        error_type = error_type or "permission_error"
        code = code or "permission_error"
    return StripeRequestError(
        message,
        code=code,
        error_type=error_type,
        http_status=status,
        param=err.get("param") or getattr(exc, "param", None),
        decline_code=err.get("decline_code"),
        request_id=request_id,
    )


def _call[T](fn: Callable[[], T]) -> T:
    try:
        return fn()
    except stripe.StripeError as exc:
        raise _translate(exc) from exc


# ---------------------------------------------------------------------------------------- value types


@dataclass(frozen=True, slots=True)
class PaymentIntent:
    id: str
    status: str
    amount: int
    amount_received: int
    currency: str
    client_secret: str | None
    latest_charge: str | None
    metadata: dict[str, str] = field(default_factory=dict)
    last_payment_error: str | None = None
    last_payment_error_code: str | None = None
    payment_method_types: tuple[str, ...] = ()
    created: int = 0
    description: str | None = None
    canceled_at: int | None = None
    cancellation_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    status: str
    amount: int
    currency: str
    payment_intent: str | None
    charge: str | None
    failure_reason: str | None = None
    reason: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    created: int = 0


@dataclass(frozen=True, slots=True)
class Charge:
    id: str
    status: str
    amount: int
    amount_captured: int
    amount_refunded: int
    currency: str
    paid: bool
    refunded: bool
    payment_intent: str | None
    balance_transaction: str | None
    # Only known when the balance transaction was expanded (and Stripe has created it).
    fee_cents: int | None = None
    net_cents: int | None = None
    failure_message: str | None = None
    created: int = 0


def _as_dict(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    if isinstance(obj, stripe.StripeObject):
        return obj.to_dict()
    return dict(obj)


def expandable_id(value: Any) -> str | None:
    """Expandable fields are either an id string or an (expanded) object."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return value.get("id")
    return getattr(value, "id", None)


def _metadata(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()}


def payment_intent_from_dict(obj: Any) -> PaymentIntent:
    """A PaymentIntent from the library's object or a webhook's plain dict."""
    d = _as_dict(obj)
    error = d.get("last_payment_error") or {}
    return PaymentIntent(
        id=d["id"],
        status=d["status"],
        amount=int(d.get("amount") or 0),
        amount_received=int(d.get("amount_received") or 0),
        currency=d.get("currency") or "",
        client_secret=d.get("client_secret"),
        latest_charge=expandable_id(d.get("latest_charge")),
        metadata=_metadata(d.get("metadata")),
        last_payment_error=error.get("message"),
        last_payment_error_code=error.get("decline_code") or error.get("code"),
        payment_method_types=tuple(d.get("payment_method_types") or ()),
        created=int(d.get("created") or 0),
        description=d.get("description"),
        canceled_at=d.get("canceled_at"),
        cancellation_reason=d.get("cancellation_reason"),
    )


def refund_from_dict(obj: Any) -> Refund:
    """A Refund from the library's object or a webhook's plain dict."""
    d = _as_dict(obj)
    return Refund(
        id=d["id"],
        status=d.get("status") or "",
        amount=int(d.get("amount") or 0),
        currency=d.get("currency") or "",
        payment_intent=expandable_id(d.get("payment_intent")),
        charge=expandable_id(d.get("charge")),
        failure_reason=d.get("failure_reason"),
        reason=d.get("reason"),
        metadata=_metadata(d.get("metadata")),
        created=int(d.get("created") or 0),
    )


def _charge(obj: Any) -> Charge:
    d = _as_dict(obj)
    txn = d.get("balance_transaction")
    fee = net = None
    if isinstance(txn, Mapping):
        fee = txn.get("fee")
        net = txn.get("net")
    return Charge(
        id=d["id"],
        status=d.get("status") or "",
        amount=int(d.get("amount") or 0),
        amount_captured=int(d.get("amount_captured") or 0),
        amount_refunded=int(d.get("amount_refunded") or 0),
        currency=d.get("currency") or "",
        paid=bool(d.get("paid")),
        refunded=bool(d.get("refunded")),
        payment_intent=expandable_id(d.get("payment_intent")),
        balance_transaction=expandable_id(txn),
        fee_cents=int(fee) if fee is not None else None,
        net_cents=int(net) if net is not None else None,
        failure_message=d.get("failure_message"),
        created=int(d.get("created") or 0),
    )


# ------------------------------------------------------------------------------------------- webhooks


def parse_webhook_secrets(value: str | Sequence[str] | None) -> list[str]:
    """``"whsec_a, whsec_b"`` or ``["whsec_a", "whsec_b"]`` → ``["whsec_a", "whsec_b"]`` (blanks dropped)."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [s.strip() for s in items if s and s.strip()]


def construct_event(
    payload: bytes,
    sig_header: str | None,
    secrets: str | Sequence[str],
    tolerance: int = DEFAULT_WEBHOOK_TOLERANCE,
) -> dict[str, Any]:
    """Verify ``Stripe-Signature`` over the raw request body and return the event as a plain dict.

    ``secrets`` may hold several endpoint secrets (rotation): the first one that verifies wins.
    Raises :class:`SignatureError` when no secret verifies, the header is missing or malformed, the
    timestamp is older than ``tolerance`` seconds, or the body is not a JSON event.
    """
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise SignatureError("payload must be the raw request body (bytes)")
    raw = bytes(payload)
    keys = parse_webhook_secrets(secrets)
    if not keys:
        raise SignatureError("no webhook secret configured")
    if not sig_header:
        raise SignatureError("missing Stripe-Signature header")

    failures: list[str] = []
    for secret in keys:
        try:
            stripe.WebhookSignature.verify_header(raw, sig_header, secret, tolerance)
        except stripe.SignatureVerificationError as exc:
            failures.append(exc.user_message or str(exc))
            continue
        except (UnicodeDecodeError, ValueError, IndexError) as exc:
            raise SignatureError(f"unreadable payload or header: {exc}") from exc
        break
    else:
        # A stale timestamp with a matching signature is the more useful message to surface.
        stale = [f for f in failures if "tolerance" in f]
        raise SignatureError((stale or failures or ["signature verification failed"])[0])

    try:
        event = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise SignatureError(f"payload is not valid JSON: {exc}") from exc
    if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
        raise SignatureError("payload is not a Stripe event")
    return event


# --------------------------------------------------------------------------------------------- client


class StripeGateway:
    """Our only door to Stripe. Construct one per process (it is thread-safe) or use :func:`get_client`."""

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str | None = None,
        max_network_retries: int = DEFAULT_MAX_NETWORK_RETRIES,
        http_client: stripe.HTTPClient | None = None,
    ):
        self.api_base = (api_base or "").rstrip("/") or None
        kwargs: dict[str, Any] = {"max_network_retries": max_network_retries}
        if self.api_base:
            kwargs["base_addresses"] = {"api": self.api_base}
        if http_client is not None:
            kwargs["http_client"] = http_client
        self._client = stripe.StripeClient(api_key, **kwargs)
        self._v1 = self._client.v1

    # -- payment intents

    def create_payment_intent(
        self,
        *,
        amount_cents: int,
        currency: str,
        idempotency_key: str,
        metadata: Mapping[str, Any],
        description: str = "",
    ) -> PaymentIntent:
        params: dict[str, Any] = {
            "amount": int(amount_cents),
            "currency": currency.lower(),
            "automatic_payment_methods": {"enabled": True},
            "metadata": _metadata(metadata),
        }
        if description:
            params["description"] = description
        return payment_intent_from_dict(
            _call(
                lambda: self._v1.payment_intents.create(
                    params,  # type: ignore[arg-type]
                    {"idempotency_key": idempotency_key},
                )
            )
        )

    def retrieve_payment_intent(self, pi_id: str) -> PaymentIntent:
        return payment_intent_from_dict(_call(lambda: self._v1.payment_intents.retrieve(pi_id)))

    def cancel_payment_intent(
        self, pi_id: str, *, idempotency_key: str, cancellation_reason: str | None = None
    ) -> PaymentIntent:
        params: dict[str, Any] = {}
        if cancellation_reason:
            params["cancellation_reason"] = cancellation_reason
        return payment_intent_from_dict(
            _call(
                lambda: self._v1.payment_intents.cancel(
                    pi_id,
                    params,  # type: ignore[arg-type]
                    {"idempotency_key": idempotency_key},
                )
            )
        )

    def list_payment_intents(self, created_gte: int, created_lt: int) -> Iterator[PaymentIntent]:
        """All intents created in ``[created_gte, created_lt)`` (unix seconds), newest first, every page."""
        params = {"created": {"gte": int(created_gte), "lt": int(created_lt)}, "limit": _LIST_PAGE_SIZE}
        return self._iterate(
            lambda: self._v1.payment_intents.list(params),  # type: ignore[arg-type]
            payment_intent_from_dict,
        )

    # -- refunds

    def create_refund(
        self,
        *,
        payment_intent_id: str,
        amount_cents: int | None,
        idempotency_key: str,
        reason: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Refund:
        """``amount_cents=None`` refunds whatever is left. ``reason`` is one of Stripe's
        ``duplicate | fraudulent | requested_by_customer`` (our own reasons belong in metadata)."""
        params: dict[str, Any] = {"payment_intent": payment_intent_id}
        if amount_cents is not None:
            params["amount"] = int(amount_cents)
        if reason:
            params["reason"] = reason
        if metadata:
            params["metadata"] = _metadata(metadata)
        return refund_from_dict(
            _call(
                lambda: self._v1.refunds.create(
                    params,  # type: ignore[arg-type]
                    {"idempotency_key": idempotency_key},
                )
            )
        )

    def retrieve_refund(self, refund_id: str) -> Refund:
        return refund_from_dict(_call(lambda: self._v1.refunds.retrieve(refund_id)))

    def list_refunds(self, created_gte: int, created_lt: int) -> Iterator[Refund]:
        params = {"created": {"gte": int(created_gte), "lt": int(created_lt)}, "limit": _LIST_PAGE_SIZE}
        return self._iterate(
            lambda: self._v1.refunds.list(params),  # type: ignore[arg-type]
            refund_from_dict,
        )

    def list_refunds_for_payment_intent(self, payment_intent_id: str) -> Iterator[Refund]:
        """Every refund of one intent (any status), every page."""
        params = {"payment_intent": payment_intent_id, "limit": _LIST_PAGE_SIZE}
        return self._iterate(
            lambda: self._v1.refunds.list(params),  # type: ignore[arg-type]
            refund_from_dict,
        )

    # -- charges

    def retrieve_charge(self, charge_id: str) -> Charge:
        return _charge(
            _call(lambda: self._v1.charges.retrieve(charge_id, {"expand": ["balance_transaction"]}))
        )

    # -- helpers

    @staticmethod
    def _iterate(first_page: Callable[[], Any], convert: Callable[[Any], _T]) -> Iterator[_T]:
        # Errors can surface on any page fetch, so translate inside the generator, not only on call.
        def gen() -> Iterator[_T]:
            try:
                for item in first_page().auto_paging_iter():
                    yield convert(item)
            except stripe.StripeError as exc:
                raise _translate(exc) from exc

        return gen()


def get_client() -> StripeGateway:
    """Gateway configured from Django settings (``STRIPE_SECRET_KEY``, optional ``STRIPE_API_BASE``)."""
    from django.conf import settings

    api_key = getattr(settings, "STRIPE_SECRET_KEY", "") or ""
    api_base = getattr(settings, "STRIPE_API_BASE", "") or None
    # stripe-python waits 80 s per attempt by default: a hanging Stripe would outlast gunicorn's worker timeout.
    http_client = stripe.RequestsClient(timeout=getattr(settings, "STRIPE_TIMEOUT", 8.0))
    return StripeGateway(api_key, api_base=api_base, http_client=http_client)
