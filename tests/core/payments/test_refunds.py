"""refund_issue and payment_record_offline: admin-only, never more than is left, one refund per double click."""

from decimal import Decimal

import pytest

from core.bookings.models import Booking, BookingStatus, PaymentState
from core.common.audit import acting_as
from core.common.errors import PermissionDenied
from core.payments import services
from core.payments.errors import (
    NotRefundable,
    PaymentValidationError,
    RefundFailed,
    RefundNotAllowed,
    RefundTooLarge,
)
from core.payments.models import Payment, PaymentAudit, PaymentMethod, PaymentStatus, Refund, RefundStatus
from tests.concurrency import run_in_threads

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.fakes.stripe_fixtures", "tests.fakes.stripe_payments"]


def _state(payment):
    return Booking.objects.get(pk=payment.booking_id).payment_status


def test_partial_refund(stripe_on, paid, finance_admin):
    refund = services.refund_issue(payment=paid, amount_cents=2500, reason="requested_by_customer",
                                   notes="Late pickup", actor=finance_admin, request_ip="203.0.113.9")

    assert refund.status == RefundStatus.SUCCEEDED and refund.stripe_refund_id.startswith("re_")
    assert refund.processed_by == finance_admin and refund.notes == "Late pickup"
    [call] = stripe_on.calls("POST", "/v1/refunds")
    assert call.idempotency_key == f"tt-refund-{refund.pk}"
    assert call.params["amount"] == "2500" and call.params["metadata"]["refund_id"] == str(refund.pk)
    paid.refresh_from_db()
    assert paid.refunded_cents == 2500 and _state(paid) == PaymentState.PARTIALLY_REFUNDED
    audit = PaymentAudit.objects.get(action="refund_requested")
    assert audit.user == finance_admin and audit.ip_address == "203.0.113.9"
    assert audit.details["amount_cents"] == 2500
    history = refund.history.first()
    assert history.history_user == finance_admin


def test_full_refund_after_a_partial_one(stripe_on, paid, finance_admin):
    services.refund_issue(payment=paid, amount_cents=1000, reason="requested_by_customer", notes="",
                          actor=finance_admin)
    services.refund_issue(payment=paid, amount_cents=paid.amount_cents - 1000, reason="duplicate", notes="",
                          actor=finance_admin)

    paid.refresh_from_db()
    assert paid.refunded_cents == paid.amount_cents and paid.refundable_cents == 0
    assert _state(paid) == PaymentState.REFUNDED
    assert stripe_on.get_object(paid.stripe_charge_id)["refunded"] is True


def test_over_refund_is_refused_and_nothing_reaches_stripe(stripe_on, paid, finance_admin):
    services.refund_issue(payment=paid, amount_cents=paid.amount_cents - 100, reason="requested_by_customer",
                          notes="", actor=finance_admin)

    with pytest.raises(RefundTooLarge) as err:
        services.refund_issue(payment=paid, amount_cents=101, reason="other_reason", notes="", actor=finance_admin)
    assert err.value.code == "refund_exceeds_refundable" and "1.00" in err.value.message
    assert stripe_on.created_refunds == 1
    assert Refund.objects.count() == 1


def test_pending_refunds_count_against_what_is_left(stripe_on, paid, finance_admin):
    stripe_on.refund_initial_status = "pending"
    services.refund_issue(payment=paid, amount_cents=paid.amount_cents, reason="requested_by_customer",
                          notes="", actor=finance_admin)

    with pytest.raises(RefundTooLarge):
        services.refund_issue(payment=paid, amount_cents=1, reason="x", notes="", actor=finance_admin)


@pytest.mark.parametrize("role", ["staff", "none"])
def test_only_admins_refund(stripe_on, paid, staff_user, role):
    with pytest.raises(RefundNotAllowed) as err:
        services.refund_issue(payment=paid, amount_cents=100, reason="x", notes="",
                              actor=staff_user if role == "staff" else None)
    assert err.value.code == "permission_denied" and err.value.status == 403
    assert Refund.objects.count() == 0 and stripe_on.created_refunds == 0


def test_a_double_click_makes_one_refund(stripe_on, paid, finance_admin):
    first = services.refund_issue(payment=paid, amount_cents=500, reason="requested_by_customer", notes="",
                                  actor=finance_admin)
    second = services.refund_issue(payment=paid, amount_cents=500, reason="requested_by_customer", notes="",
                                   actor=finance_admin)

    assert second.pk == first.pk
    assert Refund.objects.count() == 1 and stripe_on.created_refunds == 1


def test_refunding_an_unpaid_payment_is_refused(stripe_on, booking, finance_admin):
    services.payment_intent_create(booking=booking)
    with pytest.raises(NotRefundable):
        services.refund_issue(payment=Payment.objects.get(), amount_cents=100, reason="x", notes="",
                              actor=finance_admin)


def test_bad_amounts_are_validation_errors(stripe_on, paid, finance_admin):
    for amount in (0, -5, 1.5, True):
        with pytest.raises(PaymentValidationError):
            services.refund_issue(payment=paid, amount_cents=amount, reason="x", notes="", actor=finance_admin)


def test_stripe_down_leaves_the_refund_pending_and_the_retry_uses_the_same_key(stripe_on, paid, finance_admin,
                                                                                fast_stripe_retries):
    stripe_on.fail_next(3, status=503)
    refund = services.refund_issue(payment=paid, amount_cents=700, reason="requested_by_customer", notes="",
                                   actor=finance_admin)
    assert refund.status == RefundStatus.PENDING and refund.stripe_refund_id is None
    assert stripe_on.created_refunds == 0
    paid.refresh_from_db()
    assert paid.refunded_cents == 700  # committed money counts at once

    Refund.objects.filter(pk=refund.pk).update(created_at=refund.created_at.replace(year=2020))
    assert services.refunds_retry_pending() == 1

    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and stripe_on.created_refunds == 1
    assert {r.idempotency_key for r in stripe_on.calls("POST", "/v1/refunds")} == {f"tt-refund-{refund.pk}"}


def test_stripe_refusal_marks_the_refund_failed_and_raises(stripe_on, paid, finance_admin):
    # Refunded in the dashboard meanwhile: Stripe refuses ours.
    from core.integrations.stripe import StripeGateway
    from tests.fakes.stripe_server import FAKE_SECRET_KEY

    StripeGateway(FAKE_SECRET_KEY, api_base=stripe_on.url).create_refund(
        payment_intent_id=paid.stripe_payment_intent_id, amount_cents=None, idempotency_key="dashboard")

    with pytest.raises(RefundFailed):
        services.refund_issue(payment=paid, amount_cents=100, reason="x", notes="", actor=finance_admin)
    refund = Refund.objects.get()
    assert refund.status == RefundStatus.FAILED and "already been refunded" in refund.failure_reason
    paid.refresh_from_db()
    assert paid.refunded_cents == 0


# ----------------------------------------------------------------------------------------- offline payments


def test_staff_record_a_check_that_pays_the_booking(test_mode, booking, staff_user):
    payment = services.payment_record_offline(booking=booking, amount=booking.total_price, method="check",
                                              reference="#1042", actor=staff_user, request_ip="198.51.100.7")

    assert payment.method == PaymentMethod.CHECK and payment.status == PaymentStatus.SUCCEEDED
    assert payment.recorded_by == staff_user and payment.reference == "#1042"
    b = Booking.objects.get(pk=booking.pk)
    assert b.status == BookingStatus.PAID and b.payment_status == PaymentState.PAID
    assert b.status_changes.last().actor == staff_user
    audit = PaymentAudit.objects.get(action="offline_payment_recorded")
    assert audit.ip_address == "198.51.100.7" and audit.user == staff_user


def test_a_partial_cash_payment_does_not_mark_the_booking_paid(test_mode, booking, staff_user):
    services.payment_record_offline(booking=booking, amount=Decimal("10.00"), method="cash", reference="",
                                    actor=staff_user)

    b = Booking.objects.get(pk=booking.pk)
    assert b.status == BookingStatus.PENDING and b.payment_status == PaymentState.UNPAID
    assert b.needs_attention and "less than the total" in b.attention_reason


def test_offline_payment_validation_and_permissions(test_mode, booking, staff_user):
    with pytest.raises(PermissionDenied):
        services.payment_record_offline(booking=booking, amount=Decimal("1"), method="cash", reference="",
                                        actor=None)
    with pytest.raises(PaymentValidationError) as err:
        services.payment_record_offline(booking=booking, amount=Decimal("-1"), method="bitcoin", reference="",
                                        actor=staff_user)
    assert set(err.value.fields) == {"amount", "method"}
    with pytest.raises(PaymentValidationError):
        services.payment_record_offline(booking=booking, amount=Decimal("5"), method="check", reference="",
                                        actor=staff_user)


def test_an_offline_payment_can_be_refunded_without_stripe(test_mode, booking, staff_user, finance_admin):
    payment = services.payment_record_offline(booking=booking, amount=booking.total_price, method="cash",
                                              reference="", actor=staff_user)

    refund = services.refund_issue(payment=payment, amount_cents=payment.amount_cents, reason="cancelled",
                                   notes="cash returned", actor=finance_admin)

    assert refund.status == RefundStatus.SUCCEEDED and refund.stripe_refund_id is None
    assert Booking.objects.get(pk=booking.pk).payment_status == PaymentState.REFUNDED


# -------------------------------------------------------------------------------- PostgreSQL concurrency


@pytest.mark.django_db(transaction=True)
def test_concurrent_double_refund_makes_one(postgres_only, stripe_on, make_request, finance_admin):
    from core.bookings.services import booking_create

    booking, _ = booking_create(request=make_request())
    pi = services.payment_intent_create(booking=booking)["payment_intent_id"]
    stripe_on.succeed(pi)
    services.payment_confirm(booking=booking, payment_intent_id=pi)
    payment = Payment.objects.get(stripe_payment_intent_id=pi)

    def click(_):
        with acting_as(finance_admin):
            return services.refund_issue(payment=payment, amount_cents=payment.amount_cents,
                                         reason="requested_by_customer", notes="", actor=finance_admin)

    results = run_in_threads(8, click)

    assert len({r.pk for r in results}) == 1
    assert Refund.objects.count() == 1 and stripe_on.created_refunds == 1
    payment.refresh_from_db()
    assert payment.refunded_cents == payment.amount_cents
