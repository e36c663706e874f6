"""Replay: >= 2,000 Stripe events for >= 200 bookings, each delivered 1–3 times in shuffled order, with stale
and forged deliveries mixed in, end in exactly the state a single in-order delivery produces."""

import logging
import os
import random
import time

import pytest
from django.db import transaction
from django.utils import timezone

from core.bookings.models import Booking, BookingStatus
from core.bookings.services import booking_create, booking_expire_holds
from core.integrations.stripe import StripeGateway
from core.payments import services
from core.payments.models import Payment, ProviderEvent, Refund
from tests.fakes.stripe_server import FAKE_SECRET_KEY
from tests.fakes.stripe_signing import event_body, sign

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.fakes.stripe_fixtures", "tests.fakes.stripe_payments"]

N_BOOKINGS = int(os.environ.get("REPLAY_BOOKINGS", 264))


@pytest.fixture
def quiet_logs():
    """An INFO line per Stripe request and per Huey task would dominate the run."""
    loggers = [logging.getLogger(name) for name in ("stripe", "huey", "core")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    yield
    for lg, level in zip(loggers, levels, strict=True):
        lg.setLevel(level)
SEED = 20270310


def _scenarios(fake, gateway, bookings, rng):
    """Drive each booking's intent through a life at the fake Stripe; returns the events, in Stripe's order."""
    events, forged, expected = [], [], {}
    late = []

    def ev(kind, obj):
        events.append(fake.make_event(kind, obj))

    for i, booking in enumerate(bookings):
        pi = services.payment_intent_create(booking=booking)["payment_intent_id"]
        ev("payment_intent.created", pi)
        kind = i % 6
        expected[pi] = kind
        if kind == 0:  # declines, then success, then three partial refunds (one pending first)
            for _ in range(2):
                fake.set_processing(pi)
                ev("payment_intent.processing", pi)
                fake.fail(pi)
                ev("payment_intent.payment_failed", pi)
            fake.set_processing(pi)
            ev("payment_intent.processing", pi)
            fake.succeed(pi)
            ev("charge.succeeded", fake.get_object(pi)["latest_charge"])
            ev("payment_intent.succeeded", pi)
            for n in range(3):
                fake.refund_initial_status = "pending"
                refund = gateway.create_refund(payment_intent_id=pi, amount_cents=1000 + n,
                                               idempotency_key=f"dash-{pi}-{n}")
                ev("refund.created", refund.id)
                ev("refund.updated", refund.id)
                fake.set_refund_status(refund.id, "succeeded")
                ev("charge.refunded", fake.get_object(pi)["latest_charge"])
                ev("refund.updated", refund.id)
        elif kind == 1:  # success and a dispute; a forged "canceled" for it never gets in
            fake.succeed(pi)
            ev("payment_intent.succeeded", pi)
            charge = fake.get_object(pi)["latest_charge"]
            ev("charge.succeeded", charge)
            ev("charge.dispute.created", {
                "id": f"dp_{i}", "object": "dispute", "amount": 5000, "charge": charge, "payment_intent": pi,
                "reason": "fraudulent", "status": "needs_response",
                "evidence_details": {"due_by": 1900000000 + i, "has_evidence": False}})
            forged.append(fake.make_event("payment_intent.canceled", {**fake.get_object(pi), "status": "canceled"}))
        elif kind == 2:  # only failures; a forged success must not make it paid
            for _ in range(3):
                fake.set_processing(pi)
                ev("payment_intent.processing", pi)
                fake.fail(pi)
                ev("payment_intent.payment_failed", pi)
            forged.append(fake.make_event("payment_intent.succeeded", {**fake.get_object(pi), "status": "succeeded"}))
        elif kind == 3:  # success, full refund that fails, then a partial refund that sticks
            fake.set_processing(pi)
            ev("payment_intent.processing", pi)
            fake.succeed(pi)
            ev("payment_intent.succeeded", pi)
            fake.refund_initial_status = "pending"
            refund = gateway.create_refund(payment_intent_id=pi, amount_cents=None, idempotency_key=f"full-{pi}")
            ev("refund.updated", refund.id)
            ev("charge.refunded", fake.get_object(pi)["latest_charge"])
            fake.set_refund_status(refund.id, "failed", "expired_or_canceled_card")
            ev("refund.failed", refund.id)
            fake.refund_initial_status = "succeeded"
            second = gateway.create_refund(payment_intent_id=pi, amount_cents=2500, idempotency_key=f"part-{pi}")
            ev("charge.refunded", fake.get_object(pi)["latest_charge"])
            ev("refund.updated", second.id)
        elif kind == 4:  # abandoned: a decline, then canceled
            fake.fail(pi)
            ev("payment_intent.payment_failed", pi)
            gateway.cancel_payment_intent(pi, idempotency_key=f"cancel-{pi}")
            ev("payment_intent.canceled", pi)
            ev("customer.updated", {"id": f"cus_{i}", "object": "customer"})
        else:  # paid after the hold expired: reinstated
            late.append(booking.pk)
            fake.set_processing(pi)
            ev("payment_intent.processing", pi)
            fake.succeed(pi)
            ev("payment_intent.succeeded", pi)
            ev("charge.succeeded", fake.get_object(pi)["latest_charge"])
    return events, forged, expected, late


def _snapshot():
    payments = sorted(
        (p.stripe_payment_intent_id, p.status, p.amount_cents, p.refunded_cents, p.stripe_charge_id)
        for p in Payment.objects.all())
    refunds = sorted(
        (r.stripe_refund_id, r.status, r.amount_cents, r.failure_reason, r.payment.stripe_payment_intent_id)
        for r in Refund.objects.select_related("payment"))
    bookings = sorted(
        (str(b.pk), b.status, b.payment_status, b.needs_attention, b.attention_reason,
         b.attention_due.isoformat() if b.attention_due else "", b.cancellation_reason)
        for b in Booking.objects.all())
    events = sorted((e, p is not None) for e, p in ProviderEvent.objects.values_list("event_id", "processed_at"))
    return {"payments": payments, "refunds": refunds, "bookings": bookings, "events": events}


def test_shuffled_duplicated_replay_ends_like_in_order_single_delivery(settings, stripe_on, make_request, client,
                                                                         django_capture_on_commit_callbacks, quiet_logs):
    started = time.perf_counter()
    settings.TOTETAXI = {**settings.TOTETAXI, "DEFAULT_DAILY_CAPACITY": 100000, "RATE_LIMIT_POSTS_PER_MINUTE": 0}
    rng = random.Random(SEED)
    gateway = StripeGateway(FAKE_SECRET_KEY, api_base=stripe_on.url)
    bookings = [booking_create(request=make_request())[0] for _ in range(N_BOOKINGS)]
    events, forged, expected, late = _scenarios(stripe_on, gateway, bookings, rng)
    Booking.objects.filter(pk__in=late).update(hold_expires_at=timezone.now() - timezone.timedelta(minutes=1))
    assert booking_expire_holds() == len(late)
    setup_seconds = time.perf_counter() - started
    if N_BOOKINGS >= 264:
        assert len(events) >= 2000 and len(bookings) >= 200

    def deliver(payload: bytes, header: str) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/api/v1/webhooks/stripe/", data=payload, content_type="application/json",
                               HTTP_STRIPE_SIGNATURE=header).status_code

    # given: the reference, every event once, in Stripe's order (then rolled back)
    t0, cpu0 = time.perf_counter(), time.process_time()
    with transaction.atomic():
        for event in events:
            payload = event_body(event)
            assert deliver(payload, sign(payload)) == 200
        reference = _snapshot()
        transaction.set_rollback(True)
    in_order_seconds, in_order_cpu = time.perf_counter() - t0, time.process_time() - cpu0
    assert ProviderEvent.objects.count() == 0

    # when: each event 1–3 times, shuffled, with stale, wrongly signed, tampered and forged deliveries mixed in
    now = int(time.time())
    deliveries = []
    for event in events:
        payload = event_body(event)
        deliveries += [("ok", payload, None)] * rng.randint(1, 3)
        roll = rng.random()
        if roll < 0.08:
            deliveries.append(("bad", payload, sign(payload, timestamp=now - 301 - rng.randint(0, 3600))))
        elif roll < 0.16:
            deliveries.append(("bad", payload, sign(payload, secret="whsec_not_ours")))
        elif roll < 0.20:
            deliveries.append(("bad", payload.replace(b'"livemode":false', b'"livemode":true'), sign(payload)))
    for event in forged:
        payload = event_body(event)
        deliveries.append(("bad", payload, sign(payload, secret="whsec_attacker")))
        deliveries.append(("bad", payload, sign(payload, timestamp=now - 10_000)))
    rng.shuffle(deliveries)
    statuses = {"ok": [], "bad": []}
    t0, cpu0 = time.perf_counter(), time.process_time()
    for kind, payload, header in deliveries:
        statuses[kind].append(deliver(payload, header or sign(payload)))
    shuffled_seconds, shuffled_cpu = time.perf_counter() - t0, time.process_time() - cpu0

    # then
    assert set(statuses["ok"]) == {200}
    assert set(statuses["bad"]) == {400}
    assert _snapshot() == reference
    assert ProviderEvent.objects.count() == len(events)
    assert not ProviderEvent.objects.filter(event_id__in=[e["id"] for e in forged]).exists()
    assert not ProviderEvent.objects.filter(processed_at__isnull=True).exists()
    by_pi = {p.stripe_payment_intent_id: p for p in Payment.objects.select_related("booking")}
    for pi, kind in expected.items():
        payment = by_pi[pi]
        b = payment.booking
        if kind == 0:
            assert (payment.status, payment.refunded_cents, b.payment_status) == ("succeeded", 3003,
                                                                                  "partially_refunded")
        elif kind == 1:
            assert payment.status == "succeeded" and b.status == "paid" and b.needs_attention
        elif kind == 2:
            assert (payment.status, b.status, b.payment_status) == ("failed", "pending", "failed")
        elif kind == 3:
            assert (payment.refunded_cents, b.payment_status) == (2500, "partially_refunded")
        elif kind == 4:
            assert payment.status == "canceled" and b.status == BookingStatus.PENDING
        else:
            assert (b.status, b.payment_status) == ("paid", "paid")
            assert b.status_changes.last().reason == "reinstated_after_late_payment"
    print(f"\nreplay: {len(bookings)} bookings, {len(events)} events, {len(deliveries)} deliveries "
          f"({len(statuses['ok'])} valid, {len(statuses['bad'])} stale/forged → 400); setup {setup_seconds:.1f}s, "
          f"in-order {in_order_seconds:.1f}s ({in_order_cpu:.1f}s CPU), "
          f"shuffled {shuffled_seconds:.1f}s ({shuffled_cpu:.1f}s CPU)")
