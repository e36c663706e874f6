"""Every write to payments: intents, confirmation, Stripe state sync, settlement, offline payments, refunds.

Lock order everywhere: ServiceDay (only when a slot must be re-checked) → Booking → Payment → Refund, so two
paths can never wait on each other. Calls to Stripe carry idempotency keys derived from our ids.
"""

from core.payments.services._base import (
    HOLD_EXPIRED_REASON,
    REINSTATED_REASON,
    SCOPE_CREATE_INTENT,
    TEST_MODE_PREFIX,
    booking_payment_state,
    stripe_gateway,
    stripe_test_mode,
)
from core.payments.services.intents import (
    IntentResult,
    payment_confirm,
    payment_intent_create,
    payment_record_fee,
    payment_record_test_mode,
    payment_sync_intent,
)
from core.payments.services.refunds import (
    payment_sync_refunds,
    reconciliation_mismatch_resolve,
    refund_issue,
    refund_submit,
    refund_sync_from_stripe,
    refunds_retry_pending,
)
from core.payments.services.settlement import (
    booking_reinstate_after_late_payment,
    payment_record_dispute,
    payment_record_offline,
)

__all__ = [
    "HOLD_EXPIRED_REASON",
    "REINSTATED_REASON",
    "SCOPE_CREATE_INTENT",
    "TEST_MODE_PREFIX",
    "IntentResult",
    "booking_payment_state",
    "booking_reinstate_after_late_payment",
    "payment_confirm",
    "payment_intent_create",
    "payment_record_dispute",
    "payment_record_fee",
    "payment_record_offline",
    "payment_record_test_mode",
    "payment_sync_intent",
    "payment_sync_refunds",
    "reconciliation_mismatch_resolve",
    "refund_issue",
    "refund_submit",
    "refund_sync_from_stripe",
    "refunds_retry_pending",
    "stripe_gateway",
    "stripe_test_mode",
]
