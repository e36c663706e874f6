"""quote_create: usually one statement, and never a price from a catalog or van schedule that has changed."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.bookings.models import Quote
from core.bookings.services import quote_create, quote_preview
from core.catalog import selectors
from core.catalog.models import MiniMovePackage, SurchargeRule, VanSchedule

pytestmark = pytest.mark.django_db


def _statements(ctx) -> list[str]:
    # SQLite logs the BEGIN/COMMIT of its IMMEDIATE transactions; they are not round trips of ours
    return [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(("BEGIN", "COMMIT"))]


def _preview(make_request, **overrides):
    with CaptureQueriesContext(connection) as ctx:
        quote = quote_create(request=make_request(customer=None, pickup_address=None, dropoff_address=None,
                                                  **overrides))
    return quote, _statements(ctx)


def test_the_first_preview_of_a_date_reads_then_writes_and_the_next_is_one_insert(make_request, monkeypatch):
    # given a cold process (every test's catalog comes from one fixture, so has one version: forget other tests')
    monkeypatch.setattr(selectors, "_last_read", {})
    first, statements = _preview(make_request)
    assert statements[-1].startswith("INSERT INTO") and len(statements) >= 2
    # when the date is previewed again
    second, statements = _preview(make_request, item_count=12)
    # then one statement prices against what it last read and checks it is still current
    assert len(statements) == 1 and statements[0].startswith("INSERT INTO bookings_quote")
    assert first.total_price == second.total_price == Decimal("995.00")
    assert Quote.objects.filter(pk__in=[first.pk, second.pk]).count() == 2


def test_a_catalog_change_is_priced_at_once_and_the_stale_attempt_writes_nothing(make_request):
    _preview(make_request)
    # when the price changes (here or in another process: the cache only knows what it last read)
    package = MiniMovePackage.objects.get(code="petite")
    package.base_price = Decimal("1095.00")
    package.save()
    quote, statements = _preview(make_request)
    # then the remembered price is refused by the INSERT itself, and the quote carries the new price
    assert quote.total_price == Decimal("1095.00") and quote.breakdown["base_price"] == "1095.00"
    assert [s.split(" ")[0] for s in statements].count("INSERT") == 2
    assert Quote.objects.count() == 2  # the first preview's and this one: the refused attempt wrote no row
    assert Quote.objects.get(pk=quote.pk).total_price == Decimal("1095.00")


def test_a_new_surcharge_rule_is_priced_at_once(make_request, future_weekday):
    _preview(make_request)
    SurchargeRule.objects.create(code="midweek", name="Midweek", rule_type="day_of_week", amount=Decimal("40"),
                                 weekdays=[future_weekday.isoweekday()], applies_to=[])
    quote, _ = _preview(make_request)
    assert quote.total_price == Decimal("1035.00")
    assert [s["code"] for s in quote.breakdown["surcharges"]] == ["midweek"]


def test_van_schedule_overrides_added_changed_and_removed_are_priced_at_once(make_request, future_weekday):
    assert _preview(make_request)[0].total_price == Decimal("995.00")
    # an override appears (the catalog version does not move: only the INSERT's own check sees it)
    van = VanSchedule.objects.create(date=future_weekday, surcharge_override=Decimal("80.00"))
    assert _preview(make_request)[0].total_price == Decimal("1075.00")
    # it changes, even through a queryset update that touches no updated_at
    VanSchedule.objects.filter(pk=van.pk).update(surcharge_override=Decimal("60.00"))
    assert _preview(make_request)[0].total_price == Decimal("1055.00")
    # it is switched off
    VanSchedule.objects.filter(pk=van.pk).update(is_active=False)
    assert _preview(make_request)[0].total_price == Decimal("995.00")
    # and another date's override does not leak onto this one
    VanSchedule.objects.create(date=future_weekday + dt.timedelta(days=1), surcharge_override=Decimal("5.00"))
    quote, statements = _preview(make_request)
    assert quote.total_price == Decimal("995.00") and len(statements) == 1


def test_the_quote_expires_after_the_configured_minutes(make_request, settings):
    settings.TOTETAXI = {**settings.TOTETAXI, "QUOTE_MINUTES": 12}
    before = timezone.now()
    quote, _ = _preview(make_request)
    stored = Quote.objects.get(pk=quote.pk)
    assert dt.timedelta(minutes=12) <= stored.expires_at - before < dt.timedelta(minutes=12, seconds=5)
    assert stored.request["pricing_hash"] == stored.request_hash


def _quote_preview(make_request, **overrides):
    with CaptureQueriesContext(connection) as ctx:
        result = quote_preview(request=make_request(customer=None, pickup_address=None, dropoff_address=None,
                                                    **overrides))
    return result, _statements(ctx)


def test_a_warm_preview_reads_the_date_once_and_inserts_its_quote(make_request):
    _quote_preview(make_request)
    result, statements = _quote_preview(make_request, item_count=12)
    # the availability read, and the INSERT that checks the price it relied on
    assert [s.split()[0] for s in statements] == ["SELECT", "INSERT"], statements
    assert result.bookability.bookable and result.quote is not None
    assert result.breakdown == Quote.objects.get(pk=result.quote.pk).breakdown


@pytest.mark.parametrize(("setup", "reason"), [
    (lambda day: VanSchedule.objects.create(date=day, capacity_override=0), "closed"),
    (lambda day: VanSchedule.objects.create(date=day, specialty_items_available=False), "specialty_unavailable"),
])
def test_a_date_that_cannot_be_booked_is_priced_and_says_why_but_keeps_no_quote(make_request, future_weekday,
                                                                               setup, reason):
    _quote_preview(make_request)  # warm
    setup(future_weekday)
    result, _ = _quote_preview(make_request, specialty_items=(("peloton", 1),))
    assert result.quote is None and not result.bookability.bookable
    assert result.bookability.reasons == (reason,)
    assert result.bookability.alternatives and future_weekday not in result.bookability.alternatives
    assert result.breakdown["total_price"] == "1495.00"
    assert Quote.objects.count() == 1  # the warm-up's only


def test_today_and_beyond_the_horizon_cannot_be_booked(make_request, settings):
    today = timezone.localdate()
    beyond = today + dt.timedelta(days=int(settings.TOTETAXI["BOOKING_HORIZON_DAYS"]) + 1)
    for day, reason in ((today, "lead_time"), (beyond, "beyond_horizon")):
        result, _ = _quote_preview(make_request, pickup_date=day)
        assert (result.quote, result.bookability.reasons) == (None, (reason,))
    assert Quote.objects.count() == 0
