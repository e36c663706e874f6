"""Every write to payments: intents, confirmation, Stripe state sync, settlement, offline payments, refunds.

Lock order everywhere: ServiceDay (only when a slot must be re-checked) → Booking → Payment → Refund, so two
paths can never wait on each other. No row lock is held across a call to Stripe; the calls carry idempotency
keys derived from our ids. Modules share only public names (see common.py); nothing private crosses a module.
"""

from core.payments.services.common import (
    HOLD_EXPIRED_REASON,
    REINSTATED_REASON,
    SCOPE_CREATE_INTENT,
    TEST_MODE_PREFIX,
    booking_payment_state,
    booking_payment_state_sync,
    payment_audit,
    payment_status_from_intent,
    refund_status_from_stripe,
    stripe_gateway,
    stripe_test_mode,
)
from core.payments.services.disputes import payment_record_dispute
from core.payments.services.intent_state import (
    payment_confirm,
    payment_record_fee,
    payment_sync_intent,
)
from core.payments.services.intents import (
    IntentResult,
    balance_intent_for,
    balance_intents_cancel,
    balance_intents_cancel_stale,
    balance_intents_sweep,
    balance_payment_record_locked,
    payment_intent_create,
)
from core.payments.services.links import (
    amount_due,
    balance_reminder_is_stale,
    balance_reminders_send,
    payment_link_refusal,
    payment_link_send,
)
from core.payments.services.refunds import (
    payment_sync_refunds,
    reconciliation_mismatch_resolve,
    refund_issue,
    refund_record_locked,
    refund_submit,
    refund_sync_from_stripe,
    refunds_retry_pending,
)
from core.payments.services.settlement import (
    booking_reinstate_after_late_payment,
    payment_record_offline,
    payment_record_test_mode,
)

__all__ = [
    "balance_reminder_is_stale",
    "balance_reminders_send",
    "HOLD_EXPIRED_REASON",
    "REINSTATED_REASON",
    "SCOPE_CREATE_INTENT",
    "TEST_MODE_PREFIX",
    "IntentResult",
    "amount_due",
    "balance_intent_for",
    "balance_intents_cancel",
    "balance_intents_cancel_stale",
    "balance_intents_sweep",
    "balance_payment_record_locked",
    "booking_payment_state_sync",
    "payment_audit",
    "booking_payment_state",
    "booking_reinstate_after_late_payment",
    "payment_confirm",
    "payment_intent_create",
    "payment_link_refusal",
    "payment_link_send",
    "payment_record_dispute",
    "payment_record_fee",
    "payment_record_offline",
    "payment_record_test_mode",
    "payment_status_from_intent",
    "payment_sync_intent",
    "payment_sync_refunds",
    "reconciliation_mismatch_resolve",
    "refund_issue",
    "refund_record_locked",
    "refund_status_from_stripe",
    "refund_submit",
    "refund_sync_from_stripe",
    "refunds_retry_pending",
    "stripe_gateway",
    "stripe_test_mode",
]
