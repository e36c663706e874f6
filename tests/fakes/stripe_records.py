"""The JSON objects the fake Stripe stores, shaped as Stripe renders them (pure builders, no state)."""

from __future__ import annotations

import secrets
from typing import Any


def payment_intent_record(
    pi_id: str,
    *,
    amount: int,
    currency: str,
    metadata: dict[str, str],
    description: str | None,
    automatic: bool,
    payment_method_types: list[str] | None,
    created: int,
    receipt_email: str | None = None,
) -> dict[str, Any]:
    return {
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
        "created": created,
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


def charge_fee_transaction(pi: dict[str, Any], txn_id: str, charge_id: str, fee: int, ts: int) -> dict[str, Any]:
    """The balance transaction of a succeeded charge (money in, Stripe's fee out)."""
    return {
        "id": txn_id,
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


def charge_record(pi: dict[str, Any], charge_id: str, txn_id: str | None, *, succeeded: bool, message: str,
                  decline_code: str, ts: int) -> dict[str, Any]:
    return {
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


def refund_transaction(txn_id: str, charge: dict[str, Any], amount: int, now: int) -> dict[str, Any]:
    return {
        "id": txn_id,
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


def refund_record(refund_id: str, txn_id: str, charge: dict[str, Any], *, amount: int, metadata: dict[str, str],
                  reason: str | None, status: str, now: int) -> dict[str, Any]:
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": txn_id,
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
        "status": status,
        "transfer_reversal": None,
    }
