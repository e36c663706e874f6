"""`/api/v1/bookings/`: preview/quotes, create, idempotency, token access, update, confirm, limits, CORS."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.bookings.models import Booking, BookingStatus, IdempotencyRecord, Quote
from core.bookings.services import booking_transition
from core.catalog.models import MiniMovePackage, VanSchedule
from core.customers.models import CustomerProfile
from public_api.schemas import BOOKING_EXAMPLE

pytestmark = pytest.mark.django_db

URL = "/api/v1/bookings/"


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


def test_create_returns_the_booking_and_its_token_once(post_json, payload, future_weekday):
    response = post_json(URL, payload(coi_required=True, customer={
        "name": "Zoë Ångström", "email": "Zoe@Example.com", "phone": "(212) 555-0123"}))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {"id", "booking_number", "status", "booking_type", "pickup_date", "pickup_window", "price",
            "total_price", "access_token", "hold_expires_at"} <= set(body)
    assert body["status"] == "pending" and body["booking_type"] == "mini_move"
    assert body["booking_number"].startswith(f"TT-{timezone.localdate().year}-")
    assert body["pickup_date"] == future_weekday.isoformat()
    assert body["total_price"] == body["price"]["total_price"] == "1045.00"
    booking = Booking.objects.get(pk=body["id"])
    assert booking.hold_expires_at - timezone.now() > dt.timedelta(minutes=29)
    assert booking.customer.phone == "+12125550123"  # E.164
    assert body["access_token"] not in str(Booking.objects.values().get(pk=body["id"]))  # only its hash is kept


def test_create_reuses_the_customer_profile(post_json, payload):
    post_json(URL, payload())
    post_json(URL, payload(customer={"name": "Alex M.", "email": "ALEX@example.com", "phone": "+16465550199"}))
    profile = CustomerProfile.objects.get()
    assert profile.total_bookings_count == 2 and profile.name == "Alex M." and profile.phone == "+16465550199"
    assert profile.created_from_booking_id is not None


def test_create_within_the_query_budget(post_json, payload, django_assert_max_num_queries):
    post_json("/api/v1/services/calculate-price/", payload())  # warm the per-process catalog cache
    # (inside the test's transaction the service's atomic block adds SAVEPOINT/RELEASE: 2 of these 16;
    # one is the building move-day rule of core.documents)
    with django_assert_max_num_queries(16):
        response = post_json(URL, payload(), HTTP_IDEMPOTENCY_KEY="budget-1")
    assert response.status_code == 201, response.json()


@pytest.mark.django_db(transaction=True)
def test_the_heaviest_create_within_the_query_budget_as_in_production(post_json, payload):
    # given a warm catalog cache, and no enclosing test transaction (so no savepoints)
    post_json("/api/v1/services/calculate-price/", payload())
    # when a new customer books with a specialty add-on and an Idempotency-Key
    with CaptureQueriesContext(connection) as ctx:
        response = post_json(URL, payload(specialty_items=[{"code": "peloton", "quantity": 1}]),
                             HTTP_IDEMPOTENCY_KEY="budget-2")
    assert response.status_code == 201, response.json()
    # then at most 16 statements do the work (SQLite also logs its BEGIN IMMEDIATE/COMMIT; not counted)
    work = [q["sql"] for q in ctx.captured_queries
            if not q["sql"].startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))]
    assert len(work) <= 16, "\n".join(work)  # 16th: the buildings at the two addresses (move days)


def test_preview_within_budget_and_the_quote_is_honoured_after_a_price_change(post_json, payload,
                                                                             django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        preview = post_json(URL + "preview/", payload(customer=None, pickup_address=None, dropoff_address=None))
    assert preview.status_code == 200, preview.json()
    quote = preview.json()
    assert quote["total_price"] == "995.00" and quote["quote_id"]
    assert dt.datetime.fromisoformat(quote["expires_at"]) - timezone.now() > dt.timedelta(minutes=29)
    # when the price goes up before the customer books
    package = MiniMovePackage.objects.get(code="petite")
    package.base_price = Decimal("1195.00")
    package.save()
    assert post_json("/api/v1/services/calculate-price/", payload()).json()["total_price"] == "1195.00"
    # then the quote is charged
    created = post_json(URL, payload(quote_id=quote["quote_id"]))
    assert created.status_code == 201, created.json()
    assert created.json()["total_price"] == "995.00"
    assert Booking.objects.get(pk=created.json()["id"]).quote_id == uuid.UUID(quote["quote_id"])


@pytest.mark.parametrize("when", ["today", "beyond_horizon", "closed", "full"])
def test_a_date_that_cannot_be_booked_is_priced_with_the_reasons_and_no_quote(post_json, payload, settings,
                                                                              future_weekday, when):
    day, reason = future_weekday, {"closed": "closed", "full": "fully_booked", "today": "lead_time",
                                   "beyond_horizon": "beyond_horizon"}[when]
    if when == "today":
        day = timezone.localdate()
    elif when == "beyond_horizon":
        day = timezone.localdate() + dt.timedelta(days=int(settings.TOTETAXI["BOOKING_HORIZON_DAYS"]) + 1)
    elif when == "closed":
        VanSchedule.objects.create(date=day, capacity_override=0)
    else:
        VanSchedule.objects.create(date=day, capacity_override=1)
        assert post_json(URL, payload()).status_code == 201
    body = payload(pickup_date=day, customer=None, pickup_address=None, dropoff_address=None)
    # calculate-price and preview both price it and say why it cannot be booked, with dates that can
    for url in ("/api/v1/services/calculate-price/", URL + "preview/"):
        response = post_json(url, body)
        assert response.status_code == 200, response.json()
        answer = response.json()
        assert answer["total_price"] and answer["bookable"] is False and answer["reasons"] == [reason]
        assert answer["alternatives"] and day.isoformat() not in answer["alternatives"]
    # and preview keeps no quote that could never be honoured
    assert (answer["quote_id"], answer["expires_at"]) == (None, None)
    assert Quote.objects.count() == 0
    # a bookable date says so
    bookable = post_json(URL + "preview/", payload(customer=None, pickup_address=None, dropoff_address=None,
                                                   pickup_date=future_weekday + dt.timedelta(days=7))).json()
    assert (bookable["bookable"], bookable["reasons"], bookable["alternatives"]) == (True, [], [])
    assert bookable["quote_id"]


def test_expired_mismatched_and_unknown_quotes_are_refused(post_json, payload):
    quote_id = post_json(URL + "preview/", payload()).json()["quote_id"]
    _error(post_json(URL, payload(quote_id=quote_id, item_count=11)), 409, "quote_mismatch")
    _error(post_json(URL, payload(quote_id=str(uuid.uuid4()))), 404, "quote_not_found")
    _error(post_json(URL, payload(quote_id="not-a-uuid")), 404, "quote_not_found")
    Quote.objects.filter(pk=quote_id).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    error = _error(post_json(URL, payload(quote_id=quote_id)), 409, "quote_expired")
    assert "quote_id" in error["fields"]
    assert Booking.objects.count() == 0


def test_a_full_date_is_a_409_with_alternatives(post_json, payload, future_weekday):
    VanSchedule.objects.create(date=future_weekday, capacity_override=1)
    assert post_json(URL, payload()).status_code == 201
    error = _error(post_json(URL, payload()), 409, "date_unavailable")
    assert error["fields"]["pickup_date"] == ["fully_booked"]
    assert error["fields"]["alternatives"]


@pytest.mark.parametrize(("overrides", "fields"), [
    ({"customer": {"name": "", "email": "nope", "phone": "12"}}, {"customer.name", "customer.email",
                                                                  "customer.phone"}),
    ({"customer": None, "pickup_address": None}, {"customer", "pickup_address"}),
    ({"pickup_address": {"line1": " ", "city": "NYC", "state": "XX", "zip_code": "1002"}},
     {"pickup_address.line1", "pickup_address.state", "pickup_address.zip_code"}),
    ({"item_count": 16}, {"item_count"}),
    ({"package": "huge"}, {"package"}),
    ({"booking_type": "standard", "item_count": 0}, {"item_count"}),
    ({"booking_type": "specialty", "specialty_items": []}, {"specialty_items"}),
    ({"specialty_items": [{"code": "piano", "quantity": 1}]}, {"specialty_items.0.code"}),
    ({"specialty_items": [{"code": "crib", "quantity": 0}]}, {"specialty_items.0.quantity"}),
    ({"pickup_window": "night"}, {"pickup_window"}),
    ({"pickup_date": "2027-02-30"}, {"pickup_date"}),
    ({"pickup_date": "2020-01-01"}, {"pickup_date"}),
    ({"pickup_date": "2999-01-01"}, {"pickup_date"}),
    ({"item_count": 10**40}, {"item_count"}),
    ({"item_count": "ten"}, {"item_count"}),
    ({"item_count": 1e308}, {"item_count"}),
    ({"coi_required": "perhaps"}, {"coi_required"}),
    ({"notes": "x" * 2001}, {"notes"}),
    ({"notes": "nul \x00 byte"}, {"notes"}),
    ({"customer": {"name": "\ud800", "email": "a@example.com"}}, {"customer.name"}),
    ({"booking_type": None}, {"booking_type"}),
    ({"booking_type": "specialty", "item_count": 500, "specialty_items": [{"code": "surfboard", "quantity": 1}]},
     {"item_count"}),
    ({"specialty_items": [{"code": "crib", "quantity": 21}]}, {"specialty_items.0.quantity"}),
    ({"package": "full", "item_count": 501}, {"item_count"}),
])
def test_invalid_requests_are_422_with_field_paths(post_json, payload, overrides, fields):
    error = _error(post_json(URL, payload(**overrides)), 422, "validation_error")
    assert fields <= set(error["fields"]), error


@pytest.mark.parametrize("raw", ["{bad json", "[]", "null", '"text"', "", "1e999999", "{\"booking_type\": 1}",
                                 "\xff\xfe", "{" * 5000])
def test_malformed_bodies_are_422_never_500(client, catalog, raw):
    for url in (URL, URL + "preview/", "/api/v1/services/calculate-price/"):
        response = client.post(url, raw.encode("utf-8", "surrogatepass"), content_type="application/json")
        _error(response, 422, "validation_error")


def test_the_documented_example_books(post_json, future_weekday, catalog):
    response = post_json(URL, {**BOOKING_EXAMPLE, "pickup_date": future_weekday.isoformat()})
    assert response.status_code == 201, response.json()
    assert response.json()["total_price"] == "1545.00"  # Petite 995 + Peloton 500 + COI 50


def test_the_token_guards_the_booking_and_wrong_tokens_look_like_unknown_ids(client, post_json, payload):
    created = post_json(URL, payload()).json()
    url = f"{URL}{created['id']}/"
    assert client.get(url, HTTP_X_BOOKING_TOKEN=created["access_token"]).status_code == 200
    for response in (client.get(url), client.get(url, HTTP_X_BOOKING_TOKEN="wrong"),
                     client.get(f"{URL}{uuid.uuid4()}/", HTTP_X_BOOKING_TOKEN=created["access_token"]),
                     client.get(f"{URL}not-a-uuid/", HTTP_X_BOOKING_TOKEN="x"),
                     client.get(url + "confirm/", HTTP_X_BOOKING_TOKEN="wrong"),
                     client.patch(url, {"notes": "x"}, content_type="application/json")):
        _error(response, 404, "not_found")


def test_detail_shows_price_status_addresses_customer_payment_and_tracking(client, post_json, payload,
                                                                          django_assert_max_num_queries):
    created = post_json(URL, payload(specialty_items=[{"code": "surfboard", "quantity": 2}])).json()
    Booking.objects.filter(pk=created["id"]).update(tracking_url="https://track.example/abc")
    with django_assert_max_num_queries(2):
        body = client.get(f"{URL}{created['id']}/", HTTP_X_BOOKING_TOKEN=created["access_token"]).json()
    assert body["payment_status"] == "unpaid" and body["status"] == "pending"
    assert body["tracking_url"] == "https://track.example/abc"
    assert body["customer"]["email"] == "alex@example.com"
    assert body["pickup_address"]["zip_code"] == "10021"
    assert body["specialty_items"] == [{"code": "surfboard", "name": "Surfboard", "quantity": 2,
                                        "unit_price": "350.00"}]
    assert body["price"] == created["price"]


def test_update_reprices_and_rechecks_while_pending(client, post_json, payload, future_weekday):
    created = post_json(URL, payload()).json()
    url, token = f"{URL}{created['id']}/", created["access_token"]
    saturday = future_weekday + dt.timedelta(days=3)
    response = client.patch(url, {"pickup_date": saturday.isoformat(), "pickup_window": "afternoon",
                                  "specialty_items": [{"code": "crib", "quantity": 1}],
                                  "dropoff_address": {"line1": "1 Main St", "city": "Sag Harbor", "state": "NY",
                                                      "zip_code": "11963"}},
                            content_type="application/json", HTTP_X_BOOKING_TOKEN=token)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["pickup_date"] == saturday.isoformat() and body["pickup_window"] == "afternoon"
    assert body["total_price"] == "1445.00"  # 995 + crib 350 + weekend 100
    assert body["dropoff_address"]["city"] == "Sag Harbor"
    assert body["pickup_address"]["city"] == "New York"
    # a move onto a full date is refused and changes nothing
    full = future_weekday + dt.timedelta(days=1)
    VanSchedule.objects.create(date=full, capacity_override=0)
    _error(client.patch(url, {"pickup_date": full.isoformat()}, content_type="application/json",
                        HTTP_X_BOOKING_TOKEN=token), 409, "date_unavailable")
    _error(client.patch(url, {"item_count": 99}, content_type="application/json", HTTP_X_BOOKING_TOKEN=token),
           422, "validation_error")
    # once paid, changes go through the office
    booking_transition(booking=Booking.objects.get(pk=created["id"]), to_status=BookingStatus.PAID)
    _error(client.patch(url, {"notes": "late"}, content_type="application/json", HTTP_X_BOOKING_TOKEN=token),
           409, "invalid_transition")
    assert Booking.objects.get(pk=created["id"]).total_price == Decimal("1445.00")


def test_update_on_the_same_full_date_keeps_its_own_slot(client, post_json, payload, future_weekday):
    VanSchedule.objects.create(date=future_weekday, capacity_override=1)
    created = post_json(URL, payload()).json()
    response = client.patch(f"{URL}{created['id']}/", {"notes": "Ring twice"}, content_type="application/json",
                            HTTP_X_BOOKING_TOKEN=created["access_token"])
    assert response.status_code == 200, response.json()


def test_a_patch_never_renews_the_unpaid_hold(client, post_json, payload):
    created = post_json(URL, payload()).json()
    url, token = f"{URL}{created['id']}/", created["access_token"]
    granted = Booking.objects.get(pk=created["id"]).hold_expires_at
    # a client PATCHing every few minutes, with and without changes, to keep the date held without paying
    for minutes, body in ((10, {"notes": "Ring twice"}), (20, {"notes": "Ring twice"}), (29, {"pickup_window": "afternoon"})):
        with time_machine.travel(timezone.now() + dt.timedelta(minutes=minutes), tick=False):
            response = client.patch(url, body, content_type="application/json", HTTP_X_BOOKING_TOKEN=token)
        assert response.status_code == 200, response.json()
        shown = dt.datetime.fromisoformat(response.json()["hold_expires_at"])
        assert abs(shown - granted) < dt.timedelta(milliseconds=1)  # JSON shows milliseconds
    assert Booking.objects.get(pk=created["id"]).hold_expires_at == granted


def test_confirmation_page_data_and_next_steps(client, post_json, payload):
    created = post_json(URL, payload(coi_required=True, specialty_items=[{"code": "peloton", "quantity": 1}])
                        ).json()
    body = client.get(f"{URL}{created['id']}/confirm/", HTTP_X_BOOKING_TOKEN=created["access_token"]).json()
    assert body["booking_number"] == created["booking_number"]
    assert body["service_summary"] == "Petite Mini Move, 10 items + Peloton"
    assert body["pickup_window_label"].startswith("Morning")
    assert [s["code"] for s in body["next_steps"]] == ["payment_needed", "coi_needed"]
    assert body["price"]["coi_fee"] == "50.00"


def test_idempotency_key_replays_the_same_booking_and_refuses_another_body(client, post_json, payload):
    first = post_json(URL, payload(), HTTP_IDEMPOTENCY_KEY="key-1")
    again = post_json(URL, payload(), HTTP_IDEMPOTENCY_KEY="key-1")
    assert first.status_code == again.status_code == 201
    token = first.json()["access_token"]
    replayed = again.json().pop("access_token")
    assert {**first.json(), "access_token": None} == {**again.json(), "access_token": None}
    # the record keeps no key to the booking; the replay's token (a signed manage token) opens it
    stored = IdempotencyRecord.objects.get(key="key-1")
    assert token not in str(stored.response_body) and stored.response_body["access_token"] is None
    assert replayed and replayed != token
    for each in (token, replayed):
        assert client.get(f"{URL}{first.json()['id']}/", HTTP_X_BOOKING_TOKEN=each).status_code == 200
    assert client.post(f"{URL}{first.json()['id']}/cancel/preview/", {}, content_type="application/json",
                       HTTP_X_BOOKING_TOKEN=replayed).status_code == 200
    assert Booking.objects.count() == 1
    _error(post_json(URL, payload(item_count=11), HTTP_IDEMPOTENCY_KEY="key-1"), 409, "idempotency_conflict")
    assert post_json(URL, payload(), HTTP_IDEMPOTENCY_KEY="key-2").json()["id"] != first.json()["id"]
    assert IdempotencyRecord.objects.get(key="key-1").booking_id == uuid.UUID(first.json()["id"])


def test_a_failed_request_does_not_burn_its_idempotency_key(post_json, payload, future_weekday):
    VanSchedule.objects.create(date=future_weekday, capacity_override=0)
    _error(post_json(URL, payload(), HTTP_IDEMPOTENCY_KEY="k"), 409, "date_unavailable")
    VanSchedule.objects.filter(date=future_weekday).update(capacity_override=None)
    assert post_json(URL, payload(), HTTP_IDEMPOTENCY_KEY="k").status_code == 201


def test_keys_expire_after_a_day(post_json, payload):
    first = post_json(URL, payload(), HTTP_IDEMPOTENCY_KEY="old").json()
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - dt.timedelta(hours=25))
    assert post_json(URL, payload(), HTTP_IDEMPOTENCY_KEY="old").json()["id"] != first["id"]


def test_public_posts_are_rate_limited_per_ip(settings, client, post_json, payload):
    settings.TOTETAXI = {**settings.TOTETAXI, "RATE_LIMIT_POSTS_PER_MINUTE": 3}
    price = "/api/v1/services/calculate-price/"
    for _ in range(3):
        assert post_json(price, payload(), REMOTE_ADDR="198.51.100.1").status_code == 200
    limited = post_json(price, payload(), REMOTE_ADDR="198.51.100.1")
    _error(limited, 429, "rate_limited")
    assert 1 <= int(limited["Retry-After"]) <= 60
    # another client, another route, and reads are not affected
    assert post_json(price, payload(), REMOTE_ADDR="198.51.100.2").status_code == 200
    assert post_json(URL + "preview/", payload(), REMOTE_ADDR="198.51.100.1").status_code == 200
    assert client.get("/api/v1/services/packages/", REMOTE_ADDR="198.51.100.1").status_code == 200


def test_cors_allows_the_marketing_site(settings, client, catalog):
    settings.CORS_ALLOWED_ORIGINS = ["https://www.totetaxi.com"]
    preflight = client.options(URL, HTTP_ORIGIN="https://www.totetaxi.com",
                               HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
                               HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,idempotency-key,x-booking-token")
    assert preflight["Access-Control-Allow-Origin"] == "https://www.totetaxi.com"
    assert "idempotency-key" in preflight["Access-Control-Allow-Headers"]
    other = client.get("/api/v1/services/packages/", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in other


def test_cors_lets_the_site_read_the_request_id_and_retry_after(settings, post_json, payload):
    settings.CORS_ALLOWED_ORIGINS = ["https://www.totetaxi.com"]
    settings.TOTETAXI = {**settings.TOTETAXI, "RATE_LIMIT_POSTS_PER_MINUTE": 1}
    price = "/api/v1/services/calculate-price/"

    answers = [post_json(price, payload(), HTTP_ORIGIN="https://www.totetaxi.com") for _ in range(2)]

    limited = answers[-1]
    assert limited.status_code == 429 and "Retry-After" in limited
    for response in answers:
        exposed = {h.strip().lower() for h in response["Access-Control-Expose-Headers"].split(",")}
        assert {"x-request-id", "retry-after"} <= exposed
        assert response["Access-Control-Allow-Origin"] == "https://www.totetaxi.com"


def test_openapi_docs_describe_every_endpoint(client):
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for path in ["/api/v1/services/packages/", "/api/v1/services/specialty-items/",
                 "/api/v1/services/availability/{date}/", "/api/v1/services/available-dates/",
                 "/api/v1/services/surcharges/{date}/", "/api/v1/services/calculate-price/",
                 "/api/v1/bookings/preview/", "/api/v1/bookings/", "/api/v1/bookings/{booking_id}/",
                 "/api/v1/bookings/{booking_id}/confirm/"]:
        assert path in paths, path
        for operation in paths[path].values():
            assert operation.get("summary")
    schemas = schema["components"]["schemas"]
    assert schemas["BookingRequestIn"]["examples"]
    assert schemas["PriceBreakdownOut"]["examples"]
    for name in ("CalculatedPriceOut", "QuoteOut"):  # bookable, with and without a quote, is documented
        assert {"bookable", "reasons", "alternatives"} <= set(schemas[name]["properties"])
        assert {example["bookable"] for example in schemas[name]["examples"]} == {True, False}
    assert "bookable" in paths["/api/v1/bookings/preview/"]["post"]["description"]
    assert client.get("/api/v1/docs").status_code == 200


def test_the_migration_scrubs_tokens_stored_by_earlier_releases(client, post_json, payload):
    import importlib

    from django.apps import apps

    first = post_json(URL, payload(), HTTP_IDEMPOTENCY_KEY="old-release").json()
    record = IdempotencyRecord.objects.get(key="old-release")
    IdempotencyRecord.objects.filter(pk=record.pk).update(  # what earlier releases stored
        response_body={**record.response_body, "access_token": first["access_token"]})

    importlib.import_module("core.migrations.0017_links").scrub_stored_access_tokens(apps, None)

    assert IdempotencyRecord.objects.get(pk=record.pk).response_body["access_token"] is None
    replayed = post_json(URL, payload(), HTTP_IDEMPOTENCY_KEY="old-release").json()
    assert replayed["id"] == first["id"] and replayed["access_token"] != first["access_token"]
    assert client.get(f"{URL}{first['id']}/", HTTP_X_BOOKING_TOKEN=replayed["access_token"]).status_code == 200
