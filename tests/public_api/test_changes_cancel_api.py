"""POST bookings/{id}/cancel/preview/ and …/cancel/: the contract's shapes, errors and idempotency."""

import datetime as dt

import pytest
from django.utils import timezone

from core.bookings.change_models import ChangeQuote
from core.payments.models import Refund

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.fakes.stripe_fixtures", "tests.fakes.stripe_payments"]


def _url(booking, tail):
    return f"/api/v1/bookings/{booking.pk}/cancel/{tail}"


def test_preview_then_cancel(post_json, booking, paid, stripe_on):
    token = {"HTTP_X_BOOKING_TOKEN": booking.access_token}
    preview = post_json(_url(booking, "preview/"), {}, **token)
    assert preview.status_code == 200, preview.json()
    body = preview.json()
    assert set(body) == {"quote_id", "expires_at", "lines", "amount_due", "refund_amount", "policy_version"}
    total = f"{paid.amount_cents / 100:.2f}"
    assert body["refund_amount"] == total and body["amount_due"] == "0.00" and body["policy_version"] == 1
    assert body["lines"] == [{"kind": "paid", "code": "paid", "description": "Paid for this booking",
                              "amount": total}]

    response = post_json(_url(booking, ""), {"quote_id": body["quote_id"]}, HTTP_IDEMPOTENCY_KEY="k-1", **token)
    assert response.status_code == 200, response.json()
    cancelled = response.json()
    assert cancelled["status"] == "cancelled" and cancelled["payment_status"] == "refunded"
    assert cancelled["refund"] == {"amount": total, "status": "succeeded"}
    assert cancelled["booking_number"] == booking.booking_number

    again = post_json(_url(booking, ""), {"quote_id": body["quote_id"]}, HTTP_IDEMPOTENCY_KEY="k-1", **token)
    assert again.status_code == 200 and again.json()["refund"] == cancelled["refund"]
    assert stripe_on.created_refunds == 1 and Refund.objects.count() == 1


def test_same_key_with_another_quote_is_a_conflict(post_json, booking, paid):
    token = {"HTTP_X_BOOKING_TOKEN": booking.access_token}
    first = post_json(_url(booking, "preview/"), {}, **token).json()["quote_id"]
    second = post_json(_url(booking, "preview/"), {}, **token).json()["quote_id"]
    assert post_json(_url(booking, ""), {"quote_id": first}, HTTP_IDEMPOTENCY_KEY="k", **token).status_code == 200

    response = post_json(_url(booking, ""), {"quote_id": second}, HTTP_IDEMPOTENCY_KEY="k", **token)
    assert response.status_code == 409 and response.json()["error"]["code"] == "idempotency_conflict"


def test_expired_quote_is_409_quote_expired(post_json, booking, paid):
    token = {"HTTP_X_BOOKING_TOKEN": booking.access_token}
    quote_id = post_json(_url(booking, "preview/"), {}, **token).json()["quote_id"]
    ChangeQuote.objects.filter(pk=quote_id).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    response = post_json(_url(booking, ""), {"quote_id": quote_id}, **token)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "quote_expired" and response.json()["error"]["message"]


def test_too_late_is_409_too_late_to_change(post_json, booking, settings):
    from core.bookings.changes import pickup_moment
    from core.bookings.models import Booking

    # the pickup moved to this very morning (a staff edit): the API clock is past its start
    Booking.objects.filter(pk=booking.pk).update(pickup_date=timezone.localdate() - dt.timedelta(days=1))
    assert pickup_moment(Booking.objects.get(pk=booking.pk)) < timezone.now()

    response = post_json(_url(booking, "preview/"), {}, HTTP_X_BOOKING_TOKEN=booking.access_token)

    assert response.status_code == 409 and response.json()["error"]["code"] == "too_late_to_change"


@pytest.mark.parametrize("token", [None, "wrong"])
def test_wrong_or_missing_token_is_404(post_json, booking, token):
    headers = {"HTTP_X_BOOKING_TOKEN": token} if token else {}
    for tail, body in (("preview/", {}), ("", {"quote_id": "5b0c6a64-4a4e-4a43-9a51-1f1b0c3c2b7e"})):
        response = post_json(_url(booking, tail), body, **headers)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_bad_quote_id_is_422(post_json, booking):
    response = post_json(_url(booking, ""), {"quote_id": "nope"}, HTTP_X_BOOKING_TOKEN=booking.access_token)
    assert response.status_code == 422 and "quote_id" in response.json()["error"]["fields"]


def test_the_preview_within_its_query_budget(post_json, booking, paid, django_assert_max_num_queries):
    # the booking with its joins and its items (the token check), its policy, what was paid and refunded, and
    # the quote's insert
    with django_assert_max_num_queries(5):
        response = post_json(_url(booking, "preview/"), {}, HTTP_X_BOOKING_TOKEN=booking.access_token)
    assert response.status_code == 200
