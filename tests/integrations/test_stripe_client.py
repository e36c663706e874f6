"""The Stripe gateway against the fake Stripe server (no Django database, no network)."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest

from core.integrations.stripe import (
    SignatureError,
    StripeGateway,
    StripeRequestError,
    StripeUnavailable,
    construct_event,
    get_client,
)
from tests.concurrency import in_background, run_in_threads
from tests.fakes.stripe_server import FAKE_SECRET_KEY, FakeStripeServer, parse_params

pytest_plugins = ["tests.fakes.stripe_fixtures"]

SECRET = "whsec_current"
OLD_SECRET = "whsec_previous"


@pytest.fixture
def gateway(fake_stripe: FakeStripeServer) -> StripeGateway:
    return StripeGateway(FAKE_SECRET_KEY, api_base=fake_stripe.url)


def _create(gateway: StripeGateway, key: str = "booking-1-pi-99500", amount: int = 99500, **kw):
    return gateway.create_payment_intent(
        amount_cents=amount,
        currency="usd",
        idempotency_key=key,
        metadata=kw.pop("metadata", {"booking_id": 1, "booking_number": "TT-2027-000001"}),
        **kw,
    )


def _paid_intent(gateway: StripeGateway, fake: FakeStripeServer, amount: int = 1000):
    pi = _create(gateway, key=f"paid-{amount}-{time.monotonic_ns()}", amount=amount)
    fake.succeed(pi.id)
    return gateway.retrieve_payment_intent(pi.id)


# ------------------------------------------------------------------------------------- payment intents


def test_create_payment_intent(gateway, fake_stripe):
    pi = _create(gateway, description="Mini move TT-2027-000001")

    assert pi.id.startswith("pi_")
    assert pi.status == "requires_payment_method"
    assert (pi.amount, pi.amount_received, pi.currency) == (99500, 0, "usd")
    assert pi.client_secret and pi.client_secret.startswith(pi.id + "_secret_")
    assert pi.metadata == {"booking_id": "1", "booking_number": "TT-2027-000001"}
    assert pi.latest_charge is None
    assert "card" in pi.payment_method_types

    [req] = fake_stripe.request_log
    assert (req.method, req.path, req.idempotency_key) == (
        "POST",
        "/v1/payment_intents",
        "booking-1-pi-99500",
    )
    assert req.params["automatic_payment_methods"] == {"enabled": "true"}
    assert req.params["description"] == "Mini move TT-2027-000001"


def test_same_key_same_params_replays_first_intent(gateway, fake_stripe):
    first = _create(gateway)
    second = _create(gateway)

    assert second == first
    assert fake_stripe.created_payment_intents == 1
    assert fake_stripe.replayed_requests == 1


def test_fifty_concurrent_calls_with_one_key_create_one_intent(gateway, fake_stripe):
    ids = run_in_threads(50, lambda _: _create(gateway, key="booking-7-pi-1000", amount=1000).id)

    assert len(set(ids)) == 1
    assert fake_stripe.created_payment_intents == 1
    assert len(fake_stripe.calls("POST", "/v1/payment_intents")) == 50


def test_the_same_key_while_the_first_request_executes_is_a_409_then_replays(gateway, fake_stripe,
                                                                          fast_stripe_retries):
    held = fake_stripe.hold_execution_next()
    first = in_background(lambda: _create(gateway, key="k-busy", amount=1000))
    held.wait_until_arrived()

    with pytest.raises(StripeUnavailable) as busy:
        _create(gateway, key="k-busy", amount=1000)
    held.release()

    assert busy.value.http_status == 409
    assert _create(gateway, key="k-busy", amount=1000) == first.result(timeout=30)
    assert fake_stripe.created_payment_intents == 1


def test_same_key_different_params_is_a_request_error(gateway, fake_stripe):
    _create(gateway, key="k", amount=1000)

    with pytest.raises(StripeRequestError) as exc_info:
        _create(gateway, key="k", amount=2000)

    err = exc_info.value
    assert err.is_idempotency_error
    assert err.code == "idempotency_error"
    assert err.http_status == 400
    assert "same parameters" in err.message
    assert fake_stripe.created_payment_intents == 1


def test_validation_errors_are_not_stored_under_the_key(gateway, fake_stripe):
    with pytest.raises(StripeRequestError) as exc_info:
        _create(gateway, key="k", amount=10)
    assert exc_info.value.code == "amount_too_small"
    assert exc_info.value.param == "amount"

    # As on Stripe: the endpoint never ran, so the key is still free for a corrected request.
    assert _create(gateway, key="k", amount=1000).amount == 1000


def test_retrieve_payment_intent(gateway, fake_stripe):
    created = _create(gateway)
    fake_stripe.set_processing(created.id)
    assert gateway.retrieve_payment_intent(created.id).status == "processing"

    fake_stripe.succeed(created.id)
    pi = gateway.retrieve_payment_intent(created.id)
    assert pi.status == "succeeded"
    assert pi.amount_received == 99500
    assert pi.latest_charge and pi.latest_charge.startswith("ch_")
    assert pi.metadata["booking_id"] == "1"


def test_retrieve_failed_payment_intent_carries_the_decline(gateway, fake_stripe):
    created = _create(gateway)
    fake_stripe.fail(created.id, "Your card has insufficient funds.", decline_code="insufficient_funds")

    pi = gateway.retrieve_payment_intent(created.id)
    assert pi.status == "requires_payment_method"
    assert pi.last_payment_error == "Your card has insufficient funds."
    assert pi.last_payment_error_code == "insufficient_funds"
    assert pi.latest_charge is not None
    assert gateway.retrieve_charge(pi.latest_charge).status == "failed"


def test_retrieve_unknown_intent_is_not_found(gateway):
    with pytest.raises(StripeRequestError) as exc_info:
        gateway.retrieve_payment_intent("pi_missing")
    assert exc_info.value.is_not_found
    assert exc_info.value.code == "resource_missing"


def test_cancel_payment_intent(gateway, fake_stripe):
    created = _create(gateway)

    pi = gateway.cancel_payment_intent(created.id, idempotency_key=f"cancel-{created.id}")
    assert pi.status == "canceled"
    assert pi.canceled_at is not None
    # A retried cancel with the same key replays the success instead of "already canceled".
    assert gateway.cancel_payment_intent(created.id, idempotency_key=f"cancel-{created.id}") == pi


def test_cancel_succeeded_intent_is_refused(gateway, fake_stripe):
    pi = _paid_intent(gateway, fake_stripe)

    with pytest.raises(StripeRequestError) as exc_info:
        gateway.cancel_payment_intent(pi.id, idempotency_key="cancel-paid")
    assert exc_info.value.code == "payment_intent_unexpected_state"


# --------------------------------------------------------------------------------------------- refunds


def test_partial_then_full_refund(gateway, fake_stripe):
    pi = _paid_intent(gateway, fake_stripe, amount=1000)

    partial = gateway.create_refund(
        payment_intent_id=pi.id,
        amount_cents=300,
        idempotency_key=f"refund-{pi.id}-1",
        reason="requested_by_customer",
        metadata={"refund_request_id": 5},
    )
    assert (partial.status, partial.amount, partial.payment_intent) == ("succeeded", 300, pi.id)
    assert partial.reason == "requested_by_customer"
    assert partial.metadata == {"refund_request_id": "5"}
    assert gateway.retrieve_charge(pi.latest_charge).amount_refunded == 300

    rest = gateway.create_refund(
        payment_intent_id=pi.id,
        amount_cents=None,
        idempotency_key=f"refund-{pi.id}-2",
        reason=None,
        metadata={},
    )
    assert rest.amount == 700
    charge = gateway.retrieve_charge(pi.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (1000, True)
    assert gateway.retrieve_refund(partial.id) == partial

    with pytest.raises(StripeRequestError) as exc_info:
        gateway.create_refund(
            payment_intent_id=pi.id,
            amount_cents=1,
            idempotency_key=f"refund-{pi.id}-3",
            reason=None,
            metadata={},
        )
    assert exc_info.value.code == "charge_already_refunded"


def test_over_refund_is_refused(gateway, fake_stripe):
    pi = _paid_intent(gateway, fake_stripe, amount=1000)
    gateway.create_refund(
        payment_intent_id=pi.id, amount_cents=600, idempotency_key="r1", reason=None, metadata={}
    )

    with pytest.raises(StripeRequestError) as exc_info:
        gateway.create_refund(
            payment_intent_id=pi.id, amount_cents=500, idempotency_key="r2", reason=None, metadata={}
        )

    assert exc_info.value.code == "amount_too_large"
    assert exc_info.value.http_status == 400
    assert fake_stripe.created_refunds == 1
    assert gateway.retrieve_charge(pi.latest_charge).amount_refunded == 600


def test_refund_replay_creates_one_refund(gateway, fake_stripe):
    pi = _paid_intent(gateway, fake_stripe, amount=1000)
    kwargs = dict(
        payment_intent_id=pi.id, amount_cents=250, idempotency_key="r-same", reason=None, metadata={}
    )

    assert gateway.create_refund(**kwargs) == gateway.create_refund(**kwargs)
    assert fake_stripe.created_refunds == 1


def test_refund_of_unpaid_intent_is_refused(gateway):
    pi = _create(gateway)
    with pytest.raises(StripeRequestError) as exc_info:
        gateway.create_refund(
            payment_intent_id=pi.id, amount_cents=100, idempotency_key="r", reason=None, metadata={}
        )
    assert exc_info.value.code == "charge_not_refundable"


def test_failed_refund_releases_the_amount(gateway, fake_stripe):
    pi = _paid_intent(gateway, fake_stripe, amount=1000)
    fake_stripe.refund_initial_status = "pending"
    refund = gateway.create_refund(
        payment_intent_id=pi.id, amount_cents=1000, idempotency_key="r", reason=None, metadata={}
    )
    assert refund.status == "pending"

    fake_stripe.set_refund_status(refund.id, "failed", "expired_or_canceled_card")
    failed = gateway.retrieve_refund(refund.id)
    assert (failed.status, failed.failure_reason) == ("failed", "expired_or_canceled_card")
    assert gateway.retrieve_charge(pi.latest_charge).amount_refunded == 0


def test_retrieve_charge_reports_fee(gateway, fake_stripe):
    pi = _paid_intent(gateway, fake_stripe, amount=99500)

    charge = gateway.retrieve_charge(pi.latest_charge)

    assert charge.fee_cents == round(99500 * 0.029) + 30
    assert charge.net_cents == 99500 - charge.fee_cents
    assert charge.balance_transaction and charge.balance_transaction.startswith("txn_")
    assert fake_stripe.request_log[-1].params["expand"] == ["balance_transaction"]


# ---------------------------------------------------------------------------------- failures and retries


def test_5xx_is_retried_with_the_same_key(gateway, fake_stripe, fast_stripe_retries):
    fake_stripe.fail_next(2, status=500)

    pi = _create(gateway, key="retry-me")

    attempts = fake_stripe.calls("POST", "/v1/payment_intents")
    assert len(attempts) == 3
    assert {a.idempotency_key for a in attempts} == {"retry-me"}
    assert fake_stripe.created_payment_intents == 1
    assert pi.status == "requires_payment_method"


def test_5xx_after_retries_exhausted_is_unavailable(gateway, fake_stripe, fast_stripe_retries):
    fake_stripe.fail_next(3, status=503)

    with pytest.raises(StripeUnavailable) as exc_info:
        _create(gateway, key="doomed")

    assert exc_info.value.http_status == 503
    assert len(fake_stripe.request_log) == 3  # first try + max_network_retries=2
    assert fake_stripe.created_payment_intents == 0
    # Later, with the same key, the request goes through once.
    assert _create(gateway, key="doomed").id
    assert fake_stripe.created_payment_intents == 1


def test_stored_500_is_replayed_for_its_key(gateway, fake_stripe, fast_stripe_retries):
    fake_stripe.fail_next(1, status=500, replayable=True)

    with pytest.raises(StripeUnavailable):
        _create(gateway, key="poisoned")
    assert len(fake_stripe.request_log) == 1  # Stripe-Should-Retry: false stops the library retrying

    with pytest.raises(StripeUnavailable):
        _create(gateway, key="poisoned")
    assert fake_stripe.created_payment_intents == 0
    assert _create(gateway, key="fresh").id


def test_dropped_connection_is_retried(gateway, fake_stripe, fast_stripe_retries):
    fake_stripe.fail_next(1, status=0)

    assert _create(gateway, key="flaky").id
    assert len(fake_stripe.request_log) == 2


def test_rate_limit_is_unavailable(gateway, fake_stripe):
    fake_stripe.fail_next(1, status=429)
    with pytest.raises(StripeUnavailable) as exc_info:
        gateway.retrieve_payment_intent("pi_whatever")
    assert exc_info.value.http_status == 429


def test_missing_api_key_is_a_request_error(fake_stripe):
    gateway = StripeGateway("", api_base=fake_stripe.url)
    with pytest.raises(StripeRequestError) as exc_info:
        gateway.retrieve_payment_intent("pi_x")
    assert exc_info.value.http_status == 401
    assert exc_info.value.code == "authentication_error"


def test_unreachable_stripe_is_unavailable(fast_stripe_retries):
    server = FakeStripeServer().start()
    url = server.url
    server.stop()
    with pytest.raises(StripeUnavailable):
        StripeGateway(FAKE_SECRET_KEY, api_base=url).retrieve_payment_intent("pi_x")


def test_get_client_reads_settings(monkeypatch, fake_stripe):
    monkeypatch.setattr(
        "django.conf.settings",
        SimpleNamespace(STRIPE_SECRET_KEY=FAKE_SECRET_KEY, STRIPE_API_BASE=fake_stripe.url),
    )
    assert (
        get_client()
        .create_payment_intent(amount_cents=5000, currency="usd", idempotency_key="s", metadata={})
        .amount
        == 5000
    )

    monkeypatch.setattr("django.conf.settings", SimpleNamespace(STRIPE_SECRET_KEY="sk_x", STRIPE_API_BASE=""))
    assert get_client().api_base is None


# ----------------------------------------------------------------------------------------------- lists


def test_list_payment_intents_pages_through_the_window(gateway, fake_stripe):
    base = 1_800_000_000
    inside = {fake_stripe.seed_payment_intent(1000 + i, created=base + i)["id"] for i in range(250)}
    fake_stripe.seed_payment_intent(5000, created=base - 1)  # before the window
    fake_stripe.seed_payment_intent(5000, created=base + 250)  # at created_lt: excluded

    listed = list(gateway.list_payment_intents(created_gte=base, created_lt=base + 250))

    assert {pi.id for pi in listed} == inside
    assert len(listed) == 250
    assert [pi.created for pi in listed] == sorted((pi.created for pi in listed), reverse=True)
    pages = fake_stripe.calls("GET", "/v1/payment_intents")
    assert len(pages) == 3
    assert pages[0].params["created"] == {"gte": str(base), "lt": str(base + 250)}
    assert "starting_after" in pages[1].params


def test_list_payment_intents_with_identical_timestamps(gateway, fake_stripe):
    fake_stripe.set_clock(1_800_000_000)
    ids = {_create(gateway, key=f"k{i}", amount=1000 + i).id for i in range(205)}

    listed = [pi.id for pi in gateway.list_payment_intents(1_800_000_000, 1_800_000_001)]

    assert len(listed) == 205
    assert set(listed) == ids


def test_list_refunds(gateway, fake_stripe):
    refunds = set()
    for i in range(3):
        pi = _paid_intent(gateway, fake_stripe, amount=1000)
        for j in range(2):
            refunds.add(
                gateway.create_refund(
                    payment_intent_id=pi.id,
                    amount_cents=100,
                    idempotency_key=f"r{i}{j}",
                    reason=None,
                    metadata={},
                ).id
            )
    now = int(time.time())

    assert {r.id for r in gateway.list_refunds(now - 60, now + 60)} == refunds
    assert list(gateway.list_refunds(now + 60, now + 120)) == []


# -------------------------------------------------------------------------------------------- webhooks


def _payload(fake: FakeStripeServer, type: str = "payment_intent.succeeded") -> bytes:
    obj = fake.seed_payment_intent(1000, succeeded=True)
    return json.dumps(fake.make_event(type, obj["id"])).encode()


def test_construct_event_with_good_signature(fake_stripe):
    signed = fake_stripe.signed_event(
        "payment_intent.succeeded", fake_stripe.seed_payment_intent(1000)["id"], SECRET
    )

    event = construct_event(signed.payload, signed.header, [SECRET])

    assert isinstance(event, dict)
    assert event["id"] == signed.event["id"]
    assert event["type"] == "payment_intent.succeeded"
    assert event["data"]["object"]["object"] == "payment_intent"
    assert isinstance(event["created"], int)


def test_construct_event_rejects_wrong_secret_and_tampering(fake_stripe):
    payload = _payload(fake_stripe)
    header = fake_stripe.sign(payload, SECRET)

    with pytest.raises(SignatureError):
        construct_event(payload, header, ["whsec_other"])
    with pytest.raises(SignatureError):
        construct_event(payload.replace(b"succeeded", b"SUCCEEDED"), header, [SECRET])
    # Re-serialised JSON (different whitespace) is not the signed body.
    reserialised = json.dumps(json.loads(payload), indent=2).encode()
    with pytest.raises(SignatureError):
        construct_event(reserialised, header, [SECRET])


def test_construct_event_rejects_stale_timestamp(fake_stripe):
    payload = _payload(fake_stripe)
    stale = fake_stripe.sign(payload, SECRET, timestamp=int(time.time()) - 301)
    recent = fake_stripe.sign(payload, SECRET, timestamp=int(time.time()) - 290)

    with pytest.raises(SignatureError, match="tolerance"):
        construct_event(payload, stale, [SECRET])
    assert construct_event(payload, recent, [SECRET])["type"] == "payment_intent.succeeded"


def test_construct_event_accepts_any_rotated_secret(fake_stripe):
    payload = _payload(fake_stripe)

    assert construct_event(payload, fake_stripe.sign(payload, OLD_SECRET), [SECRET, OLD_SECRET])["id"]
    assert construct_event(payload, fake_stripe.sign(payload, SECRET), [SECRET, OLD_SECRET])["id"]
    assert construct_event(payload, fake_stripe.sign(payload, OLD_SECRET), f" {SECRET}, {OLD_SECRET} ")["id"]


@pytest.mark.parametrize(
    "header",
    ["", "garbage", "t=abc,v1=00", "v1=deadbeef", "t=1700000000"],
    ids=["empty", "garbage", "bad-t", "no-t", "no-v1"],
)
def test_construct_event_rejects_malformed_headers(fake_stripe, header):
    with pytest.raises(SignatureError):
        construct_event(_payload(fake_stripe), header, [SECRET])


def test_construct_event_rejects_signed_non_json_and_missing_secrets(fake_stripe):
    payload = b"not json at all"
    with pytest.raises(SignatureError, match="JSON"):
        construct_event(payload, fake_stripe.sign(payload, SECRET), [SECRET])
    with pytest.raises(SignatureError):
        construct_event(payload, fake_stripe.sign(payload, SECRET), [])
    with pytest.raises(SignatureError):
        construct_event(payload, fake_stripe.sign(payload, SECRET), ["", "  "])


# --------------------------------------------------------------------------------------------- the fake


def test_fake_parses_stripe_form_keys():
    pairs = [
        ("metadata[booking_id]", "42"),
        ("metadata[0]", "digit keys stay a hash"),
        ("automatic_payment_methods[enabled]", "true"),
        ("expand[]", "latest_charge"),
        ("expand[]", "customer"),
        ("created[gte]", "1"),
        ("payment_method_types[0]", "card"),
        ("payment_method_types[1]", "link"),
    ]
    assert parse_params(pairs) == {
        "metadata": {"booking_id": "42", "0": "digit keys stay a hash"},
        "automatic_payment_methods": {"enabled": "true"},
        "expand": ["latest_charge", "customer"],
        "created": {"gte": "1"},
        "payment_method_types": ["card", "link"],
    }


def test_fake_rejects_unknown_parameters(fake_stripe):
    import stripe

    client = stripe.StripeClient(FAKE_SECRET_KEY, base_addresses={"api": fake_stripe.url})
    with pytest.raises(stripe.InvalidRequestError) as exc_info:
        client.v1.payment_intents.create({"amount": 1000, "currency": "usd", "amonut": 5})  # type: ignore[typeddict-unknown-key]
    assert exc_info.value.code == "parameter_unknown"
