"""POST bookings/{id}/reschedule/preview/ and …/reschedule/: the contract's shapes, errors and idempotency."""

import datetime as dt

import pytest
from django.utils import timezone

from core.bookings.change_models import ChangeQuote
from core.bookings.models import Booking
from core.catalog.models import VanSchedule
from core.payments.models import Payment, Refund

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.fakes.stripe_fixtures", "tests.fakes.stripe_payments"]


def _url(booking, tail):
    return f"/api/v1/bookings/{booking.pk}/reschedule/{tail}"


def _saturday_after(day):
    return day + dt.timedelta(days=(5 - day.weekday()) % 7 or 7)


def test_preview_then_reschedule_to_a_dearer_day(post_json, booking, paid, stripe_on, client):
    token = {"HTTP_X_BOOKING_TOKEN": booking.access_token}
    saturday = _saturday_after(booking.pickup_date)
    preview = post_json(_url(booking, "preview/"), {"pickup_date": saturday.isoformat(),
                                                     "pickup_window": "afternoon"}, **token)
    assert preview.status_code == 200, preview.json()
    body = preview.json()
    assert set(body) == {"quote_id", "expires_at", "lines", "amount_due", "refund_amount", "policy_version",
                         "old_total", "new_total"}
    assert body["amount_due"] == "100.00" and body["refund_amount"] == "0.00"
    assert body["lines"] == [{"kind": "price_difference", "code": "price_difference",
                              "description": "New date's price difference", "amount": "100.00"}]

    response = post_json(_url(booking, ""), {"quote_id": body["quote_id"]}, HTTP_IDEMPOTENCY_KEY="r-1", **token)
    assert response.status_code == 200, response.json()
    moved = response.json()
    assert moved["pickup_date"] == saturday.isoformat() and moved["pickup_window"] == "afternoon"
    assert moved["payment_status"] == "balance_due" and moved["refund"] is None
    required = moved["payment_required"]
    assert required["amount_cents"] == 10000 and required["payment_intent_id"].startswith("pi_")
    assert required["client_secret"]

    again = post_json(_url(booking, ""), {"quote_id": body["quote_id"]}, HTTP_IDEMPOTENCY_KEY="r-1", **token)
    assert again.status_code == 200 and again.json()["payment_required"] == required
    assert Payment.objects.filter(change_quote__isnull=False).count() == 1

    # the site's create-intent gives the same balance intent
    intent = post_json("/api/v1/payments/create-intent/", {"booking_id": str(booking.pk)}, **token)
    assert intent.status_code == 200 and intent.json()["payment_intent_id"] == required["payment_intent_id"]

    # a second change before the balance is paid: 409 payment_required
    blocked = post_json(_url(booking, "preview/"), {"pickup_date": (saturday + dt.timedelta(days=7)).isoformat(),
                                                     "pickup_window": "morning"}, **token)
    assert blocked.status_code == 409 and blocked.json()["error"]["code"] == "payment_required"


def test_reschedule_to_a_cheaper_day_refunds(post_json, stripe_on, payload, client):
    from tests.fakes.stripe_payments import pay_through_stripe

    saturday = _saturday_after(dt.date.fromisoformat(payload()["pickup_date"]))
    created = post_json("/api/v1/bookings/", payload(pickup_date=saturday)).json()
    booking = Booking.objects.get(pk=created["id"])
    pay_through_stripe(stripe_on, booking)
    token = {"HTTP_X_BOOKING_TOKEN": created["access_token"]}

    quote_id = post_json(_url(booking, "preview/"), {"pickup_date": (saturday + dt.timedelta(days=4)).isoformat(),
                                                      "pickup_window": "morning"}, **token).json()["quote_id"]
    response = post_json(_url(booking, ""), {"quote_id": quote_id}, **token)

    assert response.status_code == 200, response.json()
    assert response.json()["refund"] == {"amount": "100.00", "status": "succeeded"}
    assert response.json()["payment_required"] is None and Refund.objects.count() == 1


def test_a_closed_day_is_date_unavailable_with_alternatives(post_json, booking, paid):
    target = booking.pickup_date + dt.timedelta(days=7)
    VanSchedule.objects.create(date=target, capacity_override=0)

    response = post_json(_url(booking, "preview/"), {"pickup_date": target.isoformat(), "pickup_window": "morning"},
                         HTTP_X_BOOKING_TOKEN=booking.access_token)

    error = response.json()["error"]
    assert response.status_code == 409 and error["code"] == "date_unavailable" and error["fields"]["alternatives"]


def test_a_building_closed_that_day(post_json, booking, paid):
    from core.documents.models import Building
    from core.documents.services import building_save

    target = _saturday_after(booking.pickup_date)  # the building at the pickup address: weekdays only
    building_save(building=Building(name="Lenox Tower", line1="245 E 72nd St.", city="New York", state="NY",
                                    zip_code="10021", requires_coi=False, move_weekdays=[1, 2, 3, 4, 5]))

    response = post_json(_url(booking, "preview/"), {"pickup_date": target.isoformat(), "pickup_window": "morning"},
                         HTTP_X_BOOKING_TOKEN=booking.access_token)

    error = response.json()["error"]
    assert response.status_code == 409 and error["code"] == "building_closed" and error["fields"]["alternatives"]


def test_too_late_expired_and_wrong_window(post_json, booking, paid):
    token = {"HTTP_X_BOOKING_TOKEN": booking.access_token}
    target = (booking.pickup_date + dt.timedelta(days=7)).isoformat()
    wrong = post_json(_url(booking, "preview/"), {"pickup_date": target, "pickup_window": "evening"}, **token)
    assert wrong.status_code == 422 and "pickup_window" in wrong.json()["error"]["fields"]

    quote_id = post_json(_url(booking, "preview/"), {"pickup_date": target, "pickup_window": "morning"},
                         **token).json()["quote_id"]
    ChangeQuote.objects.filter(pk=quote_id).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    expired = post_json(_url(booking, ""), {"quote_id": quote_id}, **token)
    assert expired.status_code == 409 and expired.json()["error"]["code"] == "quote_expired"

    Booking.objects.filter(pk=booking.pk).update(pickup_date=timezone.localdate() + dt.timedelta(days=1))
    late = post_json(_url(booking, "preview/"), {"pickup_date": target, "pickup_window": "morning"}, **token)
    assert late.status_code == 409 and late.json()["error"]["code"] == "too_late_to_change"


def test_wrong_token_is_404(post_json, booking, paid):
    response = post_json(_url(booking, "preview/"), {"pickup_date": "2027-03-10", "pickup_window": "morning"},
                         HTTP_X_BOOKING_TOKEN="wrong")
    assert response.status_code == 404


def test_query_budgets(post_json, booking, paid, django_assert_max_num_queries):
    token = {"HTTP_X_BOOKING_TOKEN": booking.access_token}
    target = (booking.pickup_date + dt.timedelta(days=7)).isoformat()
    with django_assert_max_num_queries(9):  # booking + items (token), balance, basis, policy, building, day, insert
        preview = post_json(_url(booking, "preview/"), {"pickup_date": target, "pickup_window": "morning"}, **token)
    assert preview.status_code == 200, preview.json()
    with django_assert_max_num_queries(38):  # a free move: locks, checks, the update and its history, the email
        response = post_json(_url(booking, ""), {"quote_id": preview.json()["quote_id"]}, **token)
    assert response.status_code == 200, response.json()
