"""What the payment services share: test mode, the Stripe gateway, Stripe's states in our words, audit rows,
the booking's payment summary. Everything here is public to the package (and named so); nothing else is shared.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db.models import Count, Q, Sum

from core.bookings.models import Booking, BookingStatus, PaymentState
from core.bookings.status import HOLD_EXPIRED_REASON  # noqa: F401 (re-exported)
from core.common.audit import current as audit_context
from core.common.errors import PermissionDenied
from core.common.money import to_cents
from core.common.services import model_update
from core.integrations.stripe import (
    PaymentIntent,
    StripeGateway,
    StripeIntegrationError,
    StripeUnavailable,
    get_client,
)
from core.payments.errors import (
    PaymentProviderError,
    PaymentProviderUnavailable,
)
from core.payments.models import (
    Payment,
    PaymentAudit,
    PaymentMethod,
    PaymentStatus,
    RefundStatus,
)
from core.payments.selectors import booking_balances_owed

logger = logging.getLogger(__name__)

SCOPE_CREATE_INTENT = "payments.create_intent"
TEST_MODE_PREFIX = "pi_testmode_"
REINSTATED_REASON = "reinstated_after_late_payment"
OFFLINE_METHODS = (PaymentMethod.CASH, PaymentMethod.CHECK, PaymentMethod.OTHER)
STRIPE_REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
# A second identical refund request by the same person within this window is a double click, not a new refund.
REFUND_DOUBLE_CLICK_WINDOW = dt.timedelta(seconds=60)
# A booking in these states was paid once: a change that cost more leaves a balance owed, even once the move has
# started or is done (the state, the balance intent and offline money for the change all go by this).
BALANCE_STATUSES = (BookingStatus.PAID, BookingStatus.SCHEDULED, BookingStatus.IN_PROGRESS, BookingStatus.COMPLETED)
_STRIPE_REFUND_STATUS = {
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.CANCELED,
}


def stripe_test_mode() -> bool:
    """LOCAL TEST MODE: no Stripe key outside production; payments are simulated (never in production)."""
    if settings.STRIPE_SECRET_KEY:
        return False
    return bool(settings.DEBUG or getattr(settings, "TESTING", False)
                or getattr(settings, "ENVIRONMENT", "production") != "production")


_gateways: dict[tuple[str, str], StripeGateway] = {}


def stripe_gateway() -> StripeGateway:
    """One gateway per (key, base): the library client is thread-safe and keeps its connection pool."""
    cache_key = (settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE or "")
    gateway = _gateways.get(cache_key)
    if gateway is None:
        gateway = _gateways[cache_key] = get_client()
    return gateway


def provider_error(exc: StripeIntegrationError) -> Exception:
    if isinstance(exc, StripeUnavailable):
        return PaymentProviderUnavailable("The payment provider did not answer; please retry in a moment.")
    return PaymentProviderError(f"The payment provider refused the request: {getattr(exc, 'message', exc)}")


def payment_audit(action: str, *, payment: Payment | None = None, booking: Booking | None = None, user=None,
           ip: str | None = None, **details) -> PaymentAudit:
    ctx = audit_context()
    return PaymentAudit.objects.create(
        payment=payment,
        booking=booking if booking is not None else (payment.booking if payment is not None else None),
        action=action,
        user=user if user is not None else ctx.resolved_user(),
        ip_address=ip or ctx.ip_address,
        details=details,
    )


def enqueue_payment_confirmation(booking_id) -> None:
    from core.payments.tasks import send_payment_confirmation  # tasks import services: import late

    send_payment_confirmation(str(booking_id))  # an on_commit task: enqueued only if we commit


def captured_cents(booking: Booking) -> int:
    captured = booking.payments.filter(status=PaymentStatus.SUCCEEDED).aggregate(total=Sum("amount_cents"))["total"]
    return int(captured or 0)


def require_staff(actor, message: str) -> None:
    """Money moved by hand (offline payments, refunds, reconciliation) is staff-only, whatever the interface."""
    if actor is None or not (getattr(actor, "is_staff", False) or getattr(actor, "is_admin_role", False)):
        raise PermissionDenied(message)


def booking_payment_state(booking: Booking) -> str:
    """What Booking.payment_status should say, from the booking's payments (one query, two if unpaid)."""
    succeeded = Q(status=PaymentStatus.SUCCEEDED)
    row = booking.payments.aggregate(
        captured=Sum("amount_cents", filter=succeeded), refunded=Sum("refunded_cents", filter=succeeded),
        processing=Count("pk", filter=Q(status=PaymentStatus.PROCESSING) & ~Q(method__in=OFFLINE_METHODS)))
    captured, refunded = int(row["captured"] or 0), int(row["refunded"] or 0)
    if booking.status in BALANCE_STATUSES and booking_balances_owed(booking):
        return PaymentState.BALANCE_DUE  # changed to cost more since it was paid: the difference is owed
    if captured and refunded >= captured:
        return PaymentState.REFUNDED
    if refunded:
        return PaymentState.PARTIALLY_REFUNDED
    if captured and captured >= to_cents(booking.total_price):
        return PaymentState.PAID
    if row["processing"]:
        return PaymentState.PROCESSING
    if captured:
        return PaymentState.PAID if booking.status != BookingStatus.PENDING else PaymentState.UNPAID
    latest = booking.payments.exclude(method__in=OFFLINE_METHODS).order_by("-created_at", "-pk") \
        .values_list("status", flat=True).first()
    return PaymentState.FAILED if latest == PaymentStatus.FAILED else PaymentState.UNPAID


def booking_payment_state_sync(booking: Booking, actor=None) -> Booking:
    """Keep Booking.payment_status in step (the caller holds the booking row lock)."""
    booking.refresh_from_db(fields=["payment_status", "status", "total_price"])
    if model_update(instance=booking, fields=["payment_status"],
                    data={"payment_status": booking_payment_state(booking)}, actor=actor) \
            and booking.payment_status == PaymentState.REFUNDED:
        from core.logistics.tasks import sync_booking_tasks  # refunded in full: its open tasks go

        sync_booking_tasks(str(booking.pk))
    return booking


def payment_status_from_intent(pi: PaymentIntent) -> str:
    """Our Payment.status for Stripe's PaymentIntent status."""
    if pi.status == "succeeded":
        return PaymentStatus.SUCCEEDED
    if pi.status in ("processing", "requires_capture"):
        return PaymentStatus.PROCESSING
    if pi.status == "canceled":
        return PaymentStatus.CANCELED
    if pi.status == "requires_payment_method" and pi.last_payment_error:
        return PaymentStatus.FAILED
    return PaymentStatus.PENDING


def refund_status_from_stripe(status: str | None) -> str:
    """Our Refund.status for a Stripe refund's status (unknown ones stay pending)."""
    return _STRIPE_REFUND_STATUS.get(status or "", RefundStatus.PENDING)
