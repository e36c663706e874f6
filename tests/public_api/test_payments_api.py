"""POST /api/v1/payments/create-intent/ and /confirm/ through the Django test client and the fake Stripe."""

import uuid

import pytest
from django.test import Client

from core.bookings.models import Booking
from core.payments.models import Payment, PaymentStatus
from tests.concurrency import run_in_threads

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.fakes.stripe_fixtures", "tests.fakes.stripe_payments"]

CREATE = "/api/v1/payments/create-intent/"
CONFIRM = "/api/v1/payments/confirm/"


def _post(client, url, body, token=None, **headers):
    if token is not None:
        headers["HTTP_X_BOOKING_TOKEN"] = token
    return client.post(url, body, content_type="application/json", **headers)


def test_create_intent_then_confirm(client, stripe_on, booking):
    response = _post(client, CREATE, {"booking_id": str(booking.pk)}, booking.access_token)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"payment_intent_id", "client_secret", "amount_cents", "currency", "test_mode"}
    assert body["amount_cents"] == int(booking.total_price * 100) and body["currency"] == "usd"
    assert body["test_mode"] is False

    stripe_on.succeed(body["payment_intent_id"])
    confirm = _post(client, CONFIRM, {"booking_id": str(booking.pk), "payment_intent_id": body["payment_intent_id"]},
                    booking.access_token)
    assert confirm.status_code == 200
    assert confirm.json() == {"payment_status": "paid", "booking_status": "paid"}


def test_confirm_does_not_trust_the_client(client, stripe_on, booking):
    pi = _post(client, CREATE, {"booking_id": str(booking.pk)}, booking.access_token).json()["payment_intent_id"]

    confirm = _post(client, CONFIRM, {"booking_id": str(booking.pk), "payment_intent_id": pi}, booking.access_token)

    assert confirm.json() == {"payment_status": "unpaid", "booking_status": "pending"}


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_wrong_or_missing_token_is_404(client, stripe_on, booking, token):
    for url, body in ((CREATE, {"booking_id": str(booking.pk)}),
                      (CONFIRM, {"booking_id": str(booking.pk), "payment_intent_id": "pi_x"})):
        response = _post(client, url, body, token)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert stripe_on.created_payment_intents == 0


def test_unknown_booking_and_bad_body(client, stripe_on, booking):
    assert _post(client, CREATE, {"booking_id": str(uuid.uuid4())}, booking.access_token).status_code == 404
    bad = _post(client, CREATE, {"booking_id": "nope"}, booking.access_token)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"
    assert "booking_id" in bad.json()["error"]["fields"]


def test_confirm_an_intent_of_another_booking_is_404(client, stripe_on, booking, make_request):
    from core.bookings.services import booking_create

    other, other_token = booking_create(request=make_request())
    theirs = _post(client, CREATE, {"booking_id": str(other.pk)}, other_token).json()["payment_intent_id"]

    response = _post(client, CONFIRM, {"booking_id": str(booking.pk), "payment_intent_id": theirs},
                     booking.access_token)
    assert response.status_code == 404


def test_idempotency_key_same_body_same_result_different_body_409(client, stripe_on, booking, make_request):
    from core.bookings.services import booking_create

    first = _post(client, CREATE, {"booking_id": str(booking.pk)}, booking.access_token, HTTP_IDEMPOTENCY_KEY="k-1")
    again = _post(client, CREATE, {"booking_id": str(booking.pk)}, booking.access_token, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 200 and first.json() == again.json()

    other, other_token = booking_create(request=make_request())
    conflict = _post(client, CREATE, {"booking_id": str(other.pk)}, other_token, HTTP_IDEMPOTENCY_KEY="k-1")
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "idempotency_conflict"
    assert stripe_on.created_payment_intents == 1


def test_paid_booking_is_409_already_paid(client, stripe_on, booking):
    pi = _post(client, CREATE, {"booking_id": str(booking.pk)}, booking.access_token).json()["payment_intent_id"]
    stripe_on.succeed(pi)
    _post(client, CONFIRM, {"booking_id": str(booking.pk), "payment_intent_id": pi}, booking.access_token)

    response = _post(client, CREATE, {"booking_id": str(booking.pk)}, booking.access_token)
    assert response.status_code == 409 and response.json()["error"]["code"] == "already_paid"


def test_stripe_down_is_503_with_the_error_body(client, stripe_on, booking, fast_stripe_retries):
    stripe_on.fail_next(3, status=0)
    response = _post(client, CREATE, {"booking_id": str(booking.pk)}, booking.access_token)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "payment_provider_unavailable"


def test_local_test_mode_completes_a_payment_without_stripe(client, test_mode, booking):
    body = _post(client, CREATE, {"booking_id": str(booking.pk)}, booking.access_token).json()
    assert body["test_mode"] is True and body["payment_intent_id"].startswith("pi_testmode_")

    confirm = _post(client, CONFIRM, {"booking_id": str(booking.pk), "payment_intent_id": body["payment_intent_id"]},
                    booking.access_token)
    assert confirm.json() == {"payment_status": "paid", "booking_status": "paid"}


def test_openapi_documents_the_payment_routes(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/payments/create-intent/" in paths and "/api/v1/payments/confirm/" in paths


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_create_intent_calls_make_one_payment_intent(postgres_only, settings, stripe_on,
                                                                        make_request):
    from core.bookings.services import booking_create

    settings.TOTETAXI = {**settings.TOTETAXI, "RATE_LIMIT_POSTS_PER_MINUTE": 0}
    booking, token = booking_create(request=make_request())

    responses = run_in_threads(50, lambda _: _post(Client(), CREATE, {"booking_id": str(booking.pk)}, token))

    assert [r.content for r in responses if r.status_code != 200] == []
    assert len({r.json()["payment_intent_id"] for r in responses}) == 1
    assert len({r.json()["client_secret"] for r in responses}) == 1
    assert stripe_on.created_payment_intents == 1
    assert Payment.objects.filter(booking_id=booking.pk, status=PaymentStatus.PENDING).count() == 1
    assert Booking.objects.get(pk=booking.pk).stripe_payment_intent_id == responses[0].json()["payment_intent_id"]


def test_with_an_idempotency_key_a_payment_found_on_the_way_is_still_recorded(client, stripe_on, booking):
    pi = _post(client, CREATE, {"booking_id": str(booking.pk)}, booking.access_token).json()["payment_intent_id"]
    stripe_on.succeed(pi)  # no webhook yet

    response = _post(client, CREATE, {"booking_id": str(booking.pk)}, booking.access_token,
                     HTTP_IDEMPOTENCY_KEY="retry-1")

    assert response.status_code == 409 and response.json()["error"]["code"] == "already_paid"
    assert Booking.objects.get(pk=booking.pk).status == "paid"
    again = _post(client, CREATE, {"booking_id": str(booking.pk)}, booking.access_token,
                  HTTP_IDEMPOTENCY_KEY="retry-1")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_paid"
