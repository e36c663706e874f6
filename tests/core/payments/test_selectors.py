import pytest
from django.utils import timezone

from core.payments import selectors, services
from core.payments.models import ReconciliationMismatch

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.fakes.stripe_fixtures", "tests.fakes.stripe_payments"]


def test_booking_payments_with_refunds_in_two_queries(test_mode, booking, staff_user, finance_admin,
                                                      django_assert_num_queries):
    payment = services.payment_record_offline(booking=booking, amount=booking.total_price, method="cash",
                                              reference="", actor=staff_user)
    services.refund_issue(payment=payment, amount_cents=100, reason="goodwill", notes="", actor=finance_admin)
    services.refund_issue(payment=payment, amount_cents=200, reason="damage", notes="", actor=finance_admin)

    with django_assert_num_queries(2):
        rows = [(p.recorded_by.username, [r.processed_by.username for r in p.refunds.all()])
                for p in selectors.payment_list_for_booking(booking=booking)]
    assert rows == [("ops-staff", ["finance-admin", "finance-admin"])]
    assert selectors.payment_refundable_cents(payment=payment) == payment.amount_cents - 300


def test_mismatch_list_and_resolve(db, staff_user):
    mismatch = ReconciliationMismatch.objects.create(run_date=timezone.localdate(), kind="payment_missing_locally",
                                                     stripe_object_id="pi_x")
    assert list(selectors.reconciliation_mismatch_list()) == [mismatch]

    services.reconciliation_mismatch_resolve(mismatch=mismatch, actor=staff_user, note="test intent")

    assert list(selectors.reconciliation_mismatch_list()) == []
    assert selectors.reconciliation_mismatch_list(resolved=None).get().resolved_by == staff_user
