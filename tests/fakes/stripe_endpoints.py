"""The fake Stripe's API endpoints: intents, refunds, charges, balance transactions, events, and lists."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from tests.fakes.stripe_lists import StripeLists
from tests.fakes.stripe_records import refund_record, refund_transaction
from tests.fakes.stripe_wire import (
    FakeStripeError,
    bool_param,
    check_params,
    enum_param,
    expand_paths,
    int_param,
    invalid,
    metadata_param,
    money,
    str_param,
)

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


class StripeEndpoints(StripeLists):
    """Routes a parsed request to its endpoint; endpoints raise FakeStripeError for Stripe's error answers."""

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
        check_params(
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
        amount = int_param(params, "amount", required=True)
        assert amount is not None
        currency = str_param(params, "currency", required=True) or ""
        if not re.fullmatch(r"[a-zA-Z]{3}", currency):
            raise invalid(
                f"Invalid currency: {currency}.", param="currency", code="parameter_invalid_string"
            )
        currency = currency.lower()
        if amount < 50:
            raise invalid(
                f"Amount must be at least $0.50 {currency}", param="amount", code="amount_too_small"
            )
        if amount > 99_999_999:
            raise invalid("Amount must be no more than $999,999.99", param="amount", code="amount_too_large")
        apm = params.get("automatic_payment_methods")
        automatic = False
        if apm is not None:
            if not isinstance(apm, dict):
                raise invalid(
                    "Invalid hash", param="automatic_payment_methods", code="parameter_invalid_hash"
                )
            check_params(apm, {"enabled", "allow_redirects"})
            automatic = bool_param(apm, "enabled")
        pm_types = params.get("payment_method_types")
        if pm_types is not None and automatic:
            raise invalid(
                "You may only specify one of these parameters: automatic_payment_methods, payment_method_types.",
                param="payment_method_types",
            )
        if pm_types is not None and not (
            isinstance(pm_types, list) and all(isinstance(t, str) for t in pm_types)
        ):
            raise invalid("Invalid array", param="payment_method_types", code="parameter_invalid_array")
        expand = expand_paths(params)
        pi = self._new_payment_intent(
            amount=amount,
            currency=currency,
            metadata=metadata_param(params),
            description=str_param(params, "description") or None,
            automatic=automatic or (apm is None and pm_types is None),
            payment_method_types=pm_types,
            receipt_email=str_param(params, "receipt_email") or None,
        )
        if bool_param(params, "confirm"):
            self._confirm(pi, str_param(params, "payment_method"))
        return self._render(pi, expand)

    def _pi_retrieve(self, params: dict[str, Any], pi_id: str) -> dict[str, Any]:
        check_params(params, {"expand", "client_secret"})
        return self._render(self._get("payment_intent", pi_id, "intent"), expand_paths(params))

    def _pi_update(self, params: dict[str, Any], pi_id: str) -> dict[str, Any]:
        check_params(params, {"amount", "currency", "description", "metadata", "receipt_email", "expand"})
        pi = self._get("payment_intent", pi_id, "intent")
        changes_money = "amount" in params or "currency" in params
        if changes_money and pi["status"] not in UPDATABLE_PI_STATUSES:
            raise self._unexpected_state(
                f"This PaymentIntent's amount could not be updated because it has a status of {pi['status']}. "
                f"You may only update the amount of a PaymentIntent with one of the following statuses: "
                f"{', '.join(UPDATABLE_PI_STATUSES)}.",
                pi,
            )
        amount = int_param(params, "amount")
        if amount is not None:
            if amount < 50:
                raise invalid("Amount must be at least $0.50 usd", param="amount", code="amount_too_small")
            pi["amount"] = amount
        currency = str_param(params, "currency")
        if currency:
            pi["currency"] = currency.lower()
        if "description" in params:
            pi["description"] = str_param(params, "description") or None
        if "receipt_email" in params:
            pi["receipt_email"] = str_param(params, "receipt_email") or None
        pi["metadata"] = metadata_param(params, pi["metadata"])
        return self._render(pi, expand_paths(params))

    def _pi_cancel(self, params: dict[str, Any], pi_id: str) -> dict[str, Any]:
        check_params(params, {"cancellation_reason", "expand"})
        reason = enum_param(params, "cancellation_reason", CANCELLATION_REASONS)
        pi = self._get("payment_intent", pi_id, "intent")
        if pi["status"] not in CANCELABLE_PI_STATUSES:
            raise self._unexpected_state(
                f"You cannot cancel this PaymentIntent because it has a status of {pi['status']}. Only a "
                f"PaymentIntent with one of the following statuses may be canceled: "
                f"{', '.join(CANCELABLE_PI_STATUSES)}.",
                pi,
            )
        pi.update(status="canceled", canceled_at=self.now(), cancellation_reason=reason, next_action=None)
        return self._render(pi, expand_paths(params))

    def _pi_confirm(self, params: dict[str, Any], pi_id: str) -> dict[str, Any]:
        """Test helper: ``payment_method=pm_card_chargeDeclined`` declines (402), anything else succeeds."""
        check_params(params, {"payment_method", "return_url", "expand"})
        pi = self._get("payment_intent", pi_id, "intent")
        self._confirm(pi, str_param(params, "payment_method"))
        return self._render(pi, expand_paths(params))

    def _confirm(self, pi: dict[str, Any], payment_method: str | None) -> None:
        if pi["status"] not in UPDATABLE_PI_STATUSES:
            raise self._unexpected_state(
                f"This PaymentIntent's status is {pi['status']}, so it cannot be confirmed.",
                pi,
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

    def _unexpected_state(self, message: str, pi: dict[str, Any]) -> FakeStripeError:
        return FakeStripeError(400, message, code="payment_intent_unexpected_state",
                               extra={"payment_intent": self._render(pi, [])})

    def _pi_list(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._filtered_list(params, "payment_intent", "/v1/payment_intents", ("customer",))

    # -- endpoints: refunds

    def _refund_create(self, params: dict[str, Any]) -> dict[str, Any]:
        check_params(params, {"payment_intent", "charge", "amount", "reason", "metadata", "expand"})
        pi_id = str_param(params, "payment_intent")
        charge_id = str_param(params, "charge")
        if not pi_id and not charge_id:
            raise invalid(
                "One of the following params should be provided for this request: payment_intent or charge.",
                code="parameter_missing",
            )
        amount = int_param(params, "amount")
        if amount is not None and amount <= 0:
            raise invalid("Invalid positive integer", param="amount", code="parameter_invalid_integer")
        reason = enum_param(params, "reason", REFUND_REASONS)
        metadata = metadata_param(params)
        expand = expand_paths(params)

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
                raise invalid("The charge does not belong to this PaymentIntent.", param="charge")
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
                f"Refund amount ({money(amount)}) is greater than unrefunded amount on charge "
                f"({money(remaining)})",
                code="amount_too_large",
                param="amount",
            )
        now = self.now()
        txn = self._store(refund_transaction(self._new_id("txn"), charge, amount, now))
        refund = self._store(refund_record(self._new_id("re"), txn["id"], charge, amount=amount, metadata=metadata,
                                           reason=reason, status=self.refund_initial_status, now=now))
        txn["source"] = refund["id"]
        self.created_refunds += 1
        self._recompute_refunded(charge["id"])
        return self._render(refund, expand)

    def _refund_retrieve(self, params: dict[str, Any], refund_id: str) -> dict[str, Any]:
        check_params(params, {"expand"})
        return self._render(self._get("refund", refund_id, "refund"), expand_paths(params))

    def _refund_update(self, params: dict[str, Any], refund_id: str) -> dict[str, Any]:
        check_params(params, {"metadata", "expand"})
        refund = self._get("refund", refund_id, "refund")
        refund["metadata"] = metadata_param(params, refund["metadata"])
        return self._render(refund, expand_paths(params))

    def _refund_list(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._filtered_list(params, "refund", "/v1/refunds", ("payment_intent", "charge"))

    # -- endpoints: charges, balance transactions, events

    def _charge_retrieve(self, params: dict[str, Any], charge_id: str) -> dict[str, Any]:
        check_params(params, {"expand"})
        return self._render(self._get("charge", charge_id, "charge"), expand_paths(params))

    def _charge_list(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._filtered_list(params, "charge", "/v1/charges", ("payment_intent",))

    def _txn_retrieve(self, params: dict[str, Any], txn_id: str) -> dict[str, Any]:
        check_params(params, {"expand"})
        return self._render(self._get("balance_transaction", txn_id), expand_paths(params))

    def _event_retrieve(self, params: dict[str, Any], event_id: str) -> dict[str, Any]:
        check_params(params, {"expand"})
        return self._render(self._get("event", event_id), [])
