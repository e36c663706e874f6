"""Dispute outcomes through POST /api/v1/webhooks/stripe/: charge.dispute.* events signed as Stripe signs them.

The closing event's own time is the day a lost dispute costs us (the revenue report's cash basis); replays and
out-of-order deliveries leave one Dispute row with the first final outcome.
"""

import datetime as dt
import time

import pytest

from core.bookings.models import Booking
from core.payments import services
from core.payments.models import Dispute, Payment, PaymentAudit, ProviderEvent
from core.reporting.reports.revenue import revenue_figures, totals_of

pytest_plugins = ["tests.fakes.stripe_fixtures", "tests.fakes.stripe_payments"]

pytestmark = pytest.mark.django_db

OPENED = int(dt.datetime(2026, 2, 15, 17, tzinfo=dt.UTC).timestamp())
CLOSED = int(dt.datetime(2026, 3, 10, 14, tzinfo=dt.UTC).timestamp())  # 10:00 in New York


@pytest.fixture
def paid(stripe_on, booking, post_webhook):
    intent = services.payment_intent_create(booking=booking)["payment_intent_id"]
    stripe_on.succeed(intent)
    post_webhook(stripe_on.make_event("payment_intent.succeeded", intent))
    return Payment.objects.get(stripe_payment_intent_id=intent)


def _dispute(payment, status, *, amount=5000):
    return {"id": "dp_1", "object": "dispute", "amount": amount, "currency": "usd", "created": OPENED,
            "charge": payment.stripe_charge_id, "payment_intent": payment.stripe_payment_intent_id,
            "reason": "fraudulent", "status": status, "is_charge_refundable": False,
            "evidence_details": {"due_by": OPENED + 7 * 86400, "has_evidence": False, "past_due": False,
                                 "submission_count": 0}}


def test_a_lost_dispute_is_closed_on_the_closing_event_day_and_replays_change_nothing(stripe_on, paid,
                                                                                      post_webhook):
    created = stripe_on.make_event("charge.dispute.created", _dispute(paid, "needs_response"), created=OPENED)
    closed = stripe_on.make_event("charge.dispute.closed", _dispute(paid, "lost"), created=CLOSED)

    for event in (created, closed, closed, created):  # replays of both
        assert post_webhook(event).status_code == 200

    d = Dispute.objects.get()
    assert (d.payment, d.amount_cents, d.outcome, d.stripe_status) == (paid, 5000, "lost", "lost")
    assert d.opened_at == dt.datetime.fromtimestamp(OPENED, tz=dt.UTC)
    assert d.closed_at == dt.datetime.fromtimestamp(CLOSED, tz=dt.UTC)
    assert ProviderEvent.objects.filter(event_type__startswith="charge.dispute.").count() == 2
    assert list(PaymentAudit.objects.filter(action__startswith="dispute_").order_by("id")
                .values_list("action", flat=True)) == ["dispute_created", "dispute_closed"]
    assert Booking.objects.get(pk=paid.booking_id).needs_attention
    march = totals_of(revenue_figures(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31), grouping="day"))
    assert (march["disputes_lost"], march["lost_count"]) == (5000, 1)


def test_closed_before_created_keeps_the_outcome_and_does_not_ask_for_evidence(stripe_on, paid, post_webhook):
    post_webhook(stripe_on.make_event("charge.dispute.closed", _dispute(paid, "won"), created=CLOSED))
    post_webhook(stripe_on.make_event("charge.dispute.created", _dispute(paid, "needs_response"), created=OPENED))
    post_webhook(stripe_on.make_event("charge.dispute.updated", _dispute(paid, "under_review"), created=OPENED + 60))

    d = Dispute.objects.get()
    assert (d.outcome, d.stripe_status, d.closed_at) == ("won", "won", dt.datetime.fromtimestamp(CLOSED, tz=dt.UTC))
    assert not Booking.objects.get(pk=paid.booking_id).needs_attention
    assert not PaymentAudit.objects.filter(action="dispute_created").exists()


def test_an_update_follows_an_open_dispute_and_a_later_close_is_final(stripe_on, paid, post_webhook):
    post_webhook(stripe_on.make_event("charge.dispute.created", _dispute(paid, "needs_response"), created=OPENED))
    post_webhook(stripe_on.make_event("charge.dispute.updated", _dispute(paid, "under_review", amount=4000),
                                      created=OPENED + 3600))
    d = Dispute.objects.get()
    assert (d.outcome, d.stripe_status, d.amount_cents, d.closed_at) == ("open", "under_review", 4000, None)

    post_webhook(stripe_on.make_event("charge.dispute.closed", _dispute(paid, "lost", amount=4000), created=CLOSED))
    post_webhook(stripe_on.make_event("charge.dispute.closed", _dispute(paid, "won", amount=4000),
                                      created=CLOSED + 60))  # a different (forged or confused) close: ignored

    d.refresh_from_db()
    assert (d.outcome, d.closed_at) == ("lost", dt.datetime.fromtimestamp(CLOSED, tz=dt.UTC))


def test_an_older_update_delivered_late_does_not_overwrite_a_newer_one(stripe_on, paid, post_webhook):
    newer = {**_dispute(paid, "under_review", amount=3000),
             "evidence_details": {"due_by": OPENED + 14 * 86400, "has_evidence": True, "past_due": False,
                                  "submission_count": 1}}
    post_webhook(stripe_on.make_event("charge.dispute.created", _dispute(paid, "needs_response"), created=OPENED))
    post_webhook(stripe_on.make_event("charge.dispute.updated", newer, created=OPENED + 7200))
    # Stripe's retry of an earlier update arrives after the later one
    post_webhook(stripe_on.make_event("charge.dispute.updated", _dispute(paid, "warning_needs_response", amount=5000),
                                      created=OPENED + 3600))

    d = Dispute.objects.get()
    assert (d.outcome, d.stripe_status, d.amount_cents) == ("open", "under_review", 3000)
    assert d.evidence_due_by == dt.datetime.fromtimestamp(OPENED + 14 * 86400, tz=dt.UTC)
    assert d.last_event_at == dt.datetime.fromtimestamp(OPENED + 7200, tz=dt.UTC)


def test_a_dispute_of_someone_elses_charge_is_recorded_nowhere(stripe_on, paid, post_webhook):
    foreign = {**_dispute(paid, "lost"), "charge": "ch_not_ours", "payment_intent": "pi_not_ours"}
    assert post_webhook(stripe_on.make_event("charge.dispute.closed", foreign, created=int(time.time()))
                        ).status_code == 200
    assert not Dispute.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_created_and_closed_delivered_at_once_leave_one_lost_dispute(postgres_only, stripe_on, make_request):
    from django.test import Client

    from core.bookings.services import booking_create
    from tests.concurrency import run_in_threads
    from tests.fakes.stripe_signing import event_body, sign

    pending, _ = booking_create(request=make_request())
    intent = services.payment_intent_create(booking=pending)["payment_intent_id"]
    stripe_on.succeed(intent)
    Client().post("/api/v1/webhooks/stripe/", data=(body := event_body(stripe_on.make_event(
        "payment_intent.succeeded", intent))), content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(body))
    payment = Payment.objects.get(stripe_payment_intent_id=intent)
    bodies = [event_body(stripe_on.make_event("charge.dispute.created", _dispute(payment, "needs_response"),
                                              created=OPENED)),
              event_body(stripe_on.make_event("charge.dispute.closed", _dispute(payment, "lost"), created=CLOSED))]

    statuses = run_in_threads(6, lambda i: Client().post(
        "/api/v1/webhooks/stripe/", data=bodies[i % 2], content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(bodies[i % 2])).status_code)

    assert statuses == [200] * 6
    d = Dispute.objects.get()
    assert (d.outcome, d.closed_at) == ("lost", dt.datetime.fromtimestamp(CLOSED, tz=dt.UTC))
    assert PaymentAudit.objects.filter(action="dispute_closed").count() == 1
    assert ProviderEvent.objects.filter(event_type__startswith="charge.dispute.", processed_at__isnull=False
                                        ).count() == 2


REINSTATED = CLOSED + 3600


def _bt(amount, fee, created):
    """A dispute's balance transaction as Stripe embeds it (funds withdrawn: negative; reinstated: positive)."""
    return {"id": f"txn_{created}", "object": "balance_transaction", "amount": amount, "fee": fee, "net": amount - fee,
            "created": created, "currency": "usd", "type": "adjustment", "reporting_category": "dispute",
            "fee_details": [{"amount": fee, "currency": "usd", "description": "Dispute fee", "type": "stripe_fee"}]
            if fee else []}


def test_stripes_dispute_fee_is_taken_when_funds_are_withdrawn_and_given_back_when_reinstated(
        stripe_on, paid, post_webhook):
    withdrawn = [_bt(-5000, 1500, OPENED)]
    both = [*withdrawn, _bt(5000, -1500, REINSTATED)]
    events = [
        stripe_on.make_event("charge.dispute.created", _dispute(paid, "needs_response"), created=OPENED),
        stripe_on.make_event("charge.dispute.funds_withdrawn",
                             {**_dispute(paid, "needs_response"), "balance_transactions": withdrawn}, created=OPENED),
        stripe_on.make_event("charge.dispute.closed", {**_dispute(paid, "won"), "balance_transactions": withdrawn},
                             created=CLOSED),
        # after the close: a closed dispute still takes its reinstated funds' fee
        stripe_on.make_event("charge.dispute.funds_reinstated", {**_dispute(paid, "won"), "balance_transactions": both},
                             created=REINSTATED),
    ]
    for event in (*events, *events):  # and every one replayed
        assert post_webhook(event).status_code == 200

    d = Dispute.objects.get()
    assert (d.outcome, d.fee_cents, d.fee_returned_cents) == ("won", 1500, 1500)
    assert (d.fee_at, d.fee_returned_at) == (dt.datetime.fromtimestamp(OPENED, tz=dt.UTC),
                                             dt.datetime.fromtimestamp(REINSTATED, tz=dt.UTC))
    assert PaymentAudit.objects.filter(action="dispute_fee").count() == 2
    rows = revenue_figures(start=dt.date(2026, 2, 1), end=dt.date(2026, 3, 31), grouping="month")
    assert [r["dispute_fees"] for r in rows] == [1500, -1500]  # taken in February, back in March
    assert [r["net_after_disputes"] - r["net_of_fees"] for r in rows] == [-1500, 1500]


def test_a_lost_disputes_fee_arriving_on_the_close_alone_is_kept(stripe_on, paid, post_webhook):
    lost = {**_dispute(paid, "lost"), "balance_transactions": [_bt(-5000, 1500, OPENED), "txn_not_expanded"]}
    post_webhook(stripe_on.make_event("charge.dispute.closed", lost, created=CLOSED))
    post_webhook(stripe_on.make_event("charge.dispute.created", _dispute(paid, "needs_response"), created=OPENED))

    d = Dispute.objects.get()
    assert (d.outcome, d.fee_cents, d.fee_at, d.fee_returned_cents) == (
        "lost", 1500, dt.datetime.fromtimestamp(OPENED, tz=dt.UTC), 0)
    feb, march = revenue_figures(start=dt.date(2026, 2, 1), end=dt.date(2026, 3, 31), grouping="month")
    assert (feb["dispute_fees"], march["dispute_fees"], march["disputes_lost"]) == (1500, 0, 5000)
