import pytest
from django.urls import reverse
from django.utils import timezone

from core.payments.models import PaymentAudit, ReconciliationMismatch


@pytest.fixture
def mismatch(db):
    return ReconciliationMismatch.objects.create(run_date=timezone.localdate(), kind="payment_missing_locally",
                                                 stripe_object_id="pi_only_at_stripe")


def _resolve(client, mismatch):
    return client.post(reverse("admin:core_reconciliationmismatch_changelist"),
                       {"action": "mark_resolved", "_selected_action": [str(mismatch.pk)]}, follow=True)


def test_finance_marks_a_difference_resolved_and_it_is_audited(role_client, mismatch):
    client = role_client("finance")
    response = _resolve(client, mismatch)
    assert response.status_code == 200
    assert "1 difference(s) marked resolved." in response.content.decode()
    mismatch.refresh_from_db()
    assert mismatch.resolved and mismatch.resolved_by == client.user
    assert PaymentAudit.objects.filter(action="reconciliation_resolved", user=client.user).count() == 1


def test_operations_cannot_resolve_differences(role_client, mismatch):
    client = role_client("operations")
    _resolve(client, mismatch)
    mismatch.refresh_from_db()
    assert not mismatch.resolved
