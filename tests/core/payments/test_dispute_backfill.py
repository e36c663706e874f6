"""Migration 0015 turns the disputes recorded before it (dispute_created audit rows) into open Dispute rows."""

import datetime as dt
import importlib

import pytest
from django.apps import apps

from core.payments.models import Dispute, PaymentAudit
from tests.core.reporting.data import booking, ny, pay

backfill = importlib.import_module("core.migrations.0015_reports_outcomes").disputes_from_audit


@pytest.mark.django_db
def test_audit_rows_become_open_disputes_once():
    p = pay(booking(pickup=dt.date(2026, 2, 1)), 5000, ny(2026, 2, 1, 12))
    for dispute_id in ("dp_old", "dp_old", ""):  # a replayed audit row, and one without an id
        row = PaymentAudit.objects.create(payment=p, booking=p.booking, action="dispute_created",
                                          details={"dispute_id": dispute_id, "amount_cents": 4000,
                                                   "reason": "fraudulent", "status": "needs_response"})
        PaymentAudit.objects.filter(pk=row.pk).update(created_at=ny(2026, 2, 10, 9))

    backfill(apps, None)
    backfill(apps, None)

    d = Dispute.objects.get()
    assert (d.stripe_dispute_id, d.payment, d.amount_cents, d.outcome, d.closed_at) == ("dp_old", p, 4000, "open",
                                                                                      None)
    assert d.opened_at == ny(2026, 2, 10, 9) and d.reason == "fraudulent"
