"""Daily reconciliation against the fake Stripe: mismatches recorded once per run date, kind and object."""

import pytest
from django.utils import timezone

from core.bookings.services import booking_create
from core.integrations.stripe import StripeGateway
from core.payments import services
from core.payments.models import Payment, PaymentMethod, ReconciliationMismatch
from core.payments.reconciliation import reconciliation_run
from tests.fakes.stripe_server import FAKE_SECRET_KEY

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.fakes.stripe_fixtures", "tests.fakes.stripe_payments"]


def test_reconciliation_finds_each_kind_of_difference_and_is_idempotent(stripe_on, make_request):
    gateway = StripeGateway(FAKE_SECRET_KEY, api_base=stripe_on.url)
    bookings = [booking_create(request=make_request())[0] for _ in range(3)]
    agreed, lagging, refunded = (services.payment_intent_create(booking=b)["payment_intent_id"] for b in bookings)
    for pi in (agreed, lagging, refunded):
        stripe_on.succeed(pi)
    services.payment_confirm(booking=bookings[0], payment_intent_id=agreed)
    services.payment_confirm(booking=bookings[2], payment_intent_id=refunded)
    # lagging: succeeded at Stripe, still pending here (its webhook never came)
    dashboard_refund = gateway.create_refund(payment_intent_id=refunded, amount_cents=500, idempotency_key="d")
    orphan = stripe_on.seed_payment_intent(7000, metadata={"booking_id": str(bookings[1].pk)})
    ghost = Payment.objects.create(booking=bookings[1], stripe_payment_intent_id="pi_never_at_stripe",
                                   amount_cents=100, method=PaymentMethod.STRIPE, status="failed")
    # recorded before its create call, whose answer was lost
    unanswered = Payment.objects.create(booking=bookings[1], amount_cents=4200, method=PaymentMethod.STRIPE)

    result = reconciliation_run(run_date=timezone.localdate())

    found = set(ReconciliationMismatch.objects.values_list("kind", "stripe_object_id"))
    assert found == {
        ("payment_status_mismatch", lagging),
        ("payment_missing_locally", orphan["id"]),
        ("payment_missing_at_stripe", ghost.stripe_payment_intent_id),
        ("refund_missing_locally", dashboard_refund.id),
        ("payment_not_submitted", f"payment:{unanswered.pk}"),
    }
    assert result.mismatches == 5 and result.stripe_intents == 4 and result.stripe_refunds == 1
    mismatch = ReconciliationMismatch.objects.get(kind="payment_status_mismatch")
    assert mismatch.payment.stripe_payment_intent_id == lagging
    assert mismatch.details == {"stripe_status": "succeeded", "ours": "pending"}
    # the fee Stripe charged is filled in for the day's succeeded payments
    fee = Payment.objects.get(stripe_payment_intent_id=agreed).stripe_fee_cents
    assert fee == round(Payment.objects.get(stripe_payment_intent_id=agreed).amount_cents * 0.029) + 30

    reconciliation_run(run_date=timezone.localdate())
    assert ReconciliationMismatch.objects.count() == 5


def test_reconciliation_does_nothing_in_local_test_mode(test_mode):
    assert reconciliation_run(run_date=timezone.localdate()).mismatches == 0
    assert ReconciliationMismatch.objects.count() == 0


def test_the_daily_task_is_locked_and_runs(stripe_on):
    from core.payments.tasks import reconcile_payments_daily

    assert reconcile_payments_daily.call_local() == 0
