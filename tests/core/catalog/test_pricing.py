"""The pure calculator: every rule, their combinations, and properties (no database)."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.catalog.errors import PricingError
from core.catalog.pricing import (
    CatalogSnapshot,
    PackageInfo,
    PriceRequest,
    SpecialtyInfo,
    StandardRateInfo,
    SurchargeInfo,
    applicable_surcharges,
    calculate_price,
)

D = Decimal

PACKAGES = {
    "petite": PackageInfo("petite", "Petite", 15, D("995.00"), False),
    "standard": PackageInfo("standard", "Standard", 30, D("1725.00"), True),
    "full": PackageInfo("full", "Full", None, D("2490.00"), True),
}
ITEMS = {
    "peloton": SpecialtyInfo("peloton", "Peloton", D("500.00"), True),
    "surfboard": SpecialtyInfo("surfboard", "Surfboard", D("350.00"), True),
    "wardrobe_box": SpecialtyInfo("wardrobe_box", "Wardrobe Box", D("275.00"), True),
}
RULES = (
    SurchargeInfo("federal_holiday", "US federal holiday surcharge", "holiday", D("200.00"), False),
    SurchargeInfo("peak_season", "Summer peak season", "date_range", D("15.00"), True,
                  start_date=dt.date(2026, 5, 22), end_date=dt.date(2026, 9, 7), recurs_annually=True,
                  applies_to=("mini_move",)),
    SurchargeInfo("weekend", "Weekend surcharge", "day_of_week", D("100.00"), False, weekdays=(6, 7)),
)


def snapshot(*, override=None, rules=RULES, rate=StandardRateInfo(D("95.00"), 3)) -> CatalogSnapshot:
    return CatalogSnapshot(packages=PACKAGES, specialty_items=ITEMS, standard_rate=rate, surcharge_rules=rules,
                           coi_fee=D("50.00"), surcharge_override=override)


# The dates of the table (2027): what kind of day each one is.
WEDNESDAY = dt.date(2027, 3, 10)
SATURDAY = dt.date(2027, 3, 13)
MLK_DAY = dt.date(2027, 1, 18)            # Monday holiday
OBSERVED_JULY_4 = dt.date(2027, 7, 5)     # Monday: July 4 falls on a Sunday, observed Monday; also peak
PEAK_WEDNESDAY = dt.date(2027, 6, 16)
JULY_4_SUNDAY = dt.date(2027, 7, 4)       # weekend + holiday + peak, all stacked

# booking → (request kwargs, service subtotal, whether the package includes a COI)
BOOKINGS = {
    "petite": (dict(booking_type="mini_move", package="petite", item_count=10), D("995.00"), False),
    "standard_pkg": (dict(booking_type="mini_move", package="standard", item_count=30), D("1725.00"), True),
    "petite+peloton": (dict(booking_type="mini_move", package="petite", item_count=15,
                            specialty_items=(("peloton", 1),)), D("1495.00"), False),
    "standard_4": (dict(booking_type="standard", item_count=4), D("380.00"), False),
    "standard_1_min_3": (dict(booking_type="standard", item_count=1), D("285.00"), False),
    "specialty": (dict(booking_type="specialty", specialty_items=(("peloton", 1), ("surfboard", 2))),
                  D("1200.00"), False),
}

# day → {surcharge code: fixed amount, or "15%" for the mini-move-only peak percentage}
DAYS = {
    "weekday": (WEDNESDAY, None, {}),
    "weekend": (SATURDAY, None, {"weekend": D("100.00")}),
    "holiday": (MLK_DAY, None, {"federal_holiday": D("200.00")}),
    "observed_holiday_in_peak": (OBSERVED_JULY_4, None, {"federal_holiday": D("200.00"), "peak_season": "15%"}),
    "peak": (PEAK_WEDNESDAY, None, {"peak_season": "15%"}),
    "weekend_holiday_peak": (JULY_4_SUNDAY, None,
                             {"federal_holiday": D("200.00"), "peak_season": "15%", "weekend": D("100.00")}),
    "override": (JULY_4_SUNDAY, D("150.00"), {"date_override": D("150.00")}),
    "override_zero": (SATURDAY, D("0.00"), {}),
}


def expected_surcharges(day_rules: dict, booking_type: str, subtotal: Decimal) -> dict:
    out = {}
    for code, amount in day_rules.items():
        if amount == "15%":
            if booking_type == "mini_move":
                out[code] = (subtotal * D("0.15")).quantize(D("0.01"))
        else:
            out[code] = amount
    return out


@pytest.mark.parametrize("coi_required", [False, True], ids=["no_coi", "coi"])
@pytest.mark.parametrize("booking", list(BOOKINGS))
@pytest.mark.parametrize("day", list(DAYS))
def test_price_table(day, booking, coi_required):
    # given a booking of this kind on this kind of day
    kwargs, subtotal, coi_included = BOOKINGS[booking]
    on, override, day_rules = DAYS[day]
    request = PriceRequest(pickup_date=on, coi_required=coi_required, **kwargs)
    # when it is priced
    price = calculate_price(request, snapshot(override=override))
    # then each applying rule is one surcharge line, by code and name, and the parts add up
    want = expected_surcharges(day_rules, kwargs["booking_type"], subtotal)
    assert {s.code: s.amount for s in price.surcharges} == want
    assert all(s.description for s in price.surcharges)
    coi = D("50.00") if coi_required and not coi_included else D("0.00")
    assert price.coi_fee == coi
    assert price.base_price + price.specialty_items_total == subtotal
    assert price.total_price == subtotal + sum(want.values(), D("0")) + coi
    assert price.total_price == sum((line.amount for line in price.lines), D("0"))


@pytest.mark.parametrize(("request_kwargs", "lines", "total"), [
    # Mini Move: the package price, one line
    (dict(booking_type="mini_move", package="full", item_count=80, pickup_date=WEDNESDAY),
     [("package", "full", 1, "2490.00", "2490.00")], "2490.00"),
    # Standard delivery: price per item × max(items, minimum)
    (dict(booking_type="standard", item_count=2, pickup_date=WEDNESDAY),
     [("standard_delivery", "standard", 3, "95.00", "285.00")], "285.00"),
    (dict(booking_type="standard", item_count=7, pickup_date=WEDNESDAY),
     [("standard_delivery", "standard", 7, "95.00", "665.00")], "665.00"),
    # Specialty: the items' prices × quantity; a COI fee because no package includes one
    (dict(booking_type="specialty", specialty_items=(("wardrobe_box", 3),), coi_required=True,
          pickup_date=WEDNESDAY),
     [("specialty_item", "wardrobe_box", 3, "275.00", "825.00"), ("coi_fee", "coi", 1, "50.00", "50.00")],
     "875.00"),
    # Every applying rule on a stacked day, in rule order, percentages of the service subtotal only
    (dict(booking_type="mini_move", package="petite", item_count=5, coi_required=True, pickup_date=JULY_4_SUNDAY),
     [("package", "petite", 1, "995.00", "995.00"), ("surcharge", "federal_holiday", 1, "200.00", "200.00"),
      ("surcharge", "peak_season", 1, "149.25", "149.25"), ("surcharge", "weekend", 1, "100.00", "100.00"),
      ("coi_fee", "coi", 1, "50.00", "50.00")], "1494.25"),
])
def test_exact_lines(request_kwargs, lines, total):
    price = calculate_price(PriceRequest(**request_kwargs), snapshot())
    assert [(ln.kind, ln.code, ln.quantity, str(ln.unit_price), str(ln.amount)) for ln in price.lines] == lines
    assert str(price.total_price) == total


def test_percentages_round_half_up_to_cents():
    rule = SurchargeInfo("odd", "Odd percent", "day_of_week", D("12.50"), True, weekdays=(3,))
    price = calculate_price(PriceRequest("mini_move", WEDNESDAY, package="petite", item_count=1),
                            snapshot(rules=(rule,)))
    # 995.00 × 12.5 % = 124.375 → 124.38 (half-up, not banker's 124.38/124.37)
    assert price.surcharges[0].amount == D("124.38")
    rule = SurchargeInfo("odd", "Odd percent", "day_of_week", D("12.50"), True, weekdays=(3,))
    price = calculate_price(PriceRequest("standard", WEDNESDAY, item_count=1),
                            snapshot(rules=(rule,), rate=StandardRateInfo(D("0.05"), 1)))
    # 0.05 × 12.5 % = 0.00625 → 0.01
    assert price.surcharges[0].amount == D("0.01")


def test_rules_limited_to_a_service_type_and_inactive_dates_do_not_apply():
    peak = RULES[1]
    assert peak.applies(service_type="mini_move", on=PEAK_WEDNESDAY)
    assert not peak.applies(service_type="standard", on=PEAK_WEDNESDAY)
    assert not peak.applies(service_type="mini_move", on=dt.date(2027, 9, 8))
    assert peak.applies(service_type="mini_move", on=dt.date(2030, 5, 22))  # recurs every year


def test_a_one_off_date_range_and_one_spanning_new_year():
    one_off = SurchargeInfo("xmas_2027", "Holiday week", "date_range", D("10"), True,
                            start_date=dt.date(2027, 12, 20), end_date=dt.date(2027, 12, 31))
    assert one_off.applies(service_type="standard", on=dt.date(2027, 12, 24))
    assert not one_off.applies(service_type="standard", on=dt.date(2028, 12, 24))
    winter = SurchargeInfo("winter", "Winter", "date_range", D("5"), False, start_date=dt.date(2026, 12, 15),
                           end_date=dt.date(2027, 1, 15), recurs_annually=True)
    assert winter.applies(service_type="standard", on=dt.date(2030, 1, 2))
    assert winter.applies(service_type="standard", on=dt.date(2030, 12, 31))
    assert not winter.applies(service_type="standard", on=dt.date(2030, 2, 1))


def test_an_override_replaces_the_rules_and_is_what_the_surcharges_endpoint_lists():
    rules = applicable_surcharges("mini_move", JULY_4_SUNDAY, snapshot(override=D("75")))
    assert [(r.code, r.amount, r.is_percentage) for r in rules] == [("date_override", D("75.00"), False)]
    assert applicable_surcharges("mini_move", JULY_4_SUNDAY, snapshot(override=D("0"))) == ()


@pytest.mark.parametrize(("request_kwargs", "field"), [
    (dict(booking_type="mini_move", package=None, item_count=3), "package"),
    (dict(booking_type="mini_move", package="nope", item_count=3), "package"),
    (dict(booking_type="mini_move", package="petite", item_count=16), "item_count"),
    (dict(booking_type="standard", item_count=0), "item_count"),
    (dict(booking_type="specialty"), "specialty_items"),
    (dict(booking_type="specialty", specialty_items=(("piano", 1),)), "specialty_items.0.code"),
    (dict(booking_type="specialty", specialty_items=(("peloton", 1), ("peloton", 2))), "specialty_items.1.code"),
    (dict(booking_type="specialty", specialty_items=(("peloton", 0),)), "specialty_items.0.quantity"),
    (dict(booking_type="boat"), "booking_type"),
    # the limits every interface shares (the API's schema shows the same numbers)
    (dict(booking_type="mini_move", package="full", item_count=501), "item_count"),
    (dict(booking_type="standard", item_count=501), "item_count"),
    (dict(booking_type="specialty", specialty_items=(("peloton", 21),)), "specialty_items.0.quantity"),
    (dict(booking_type="standard", item_count=3, specialty_items=tuple((f"item{i}", 1) for i in range(11))),
     "specialty_items"),
    # a specialty booking is priced per item: a count would be stored and shown, never charged
    (dict(booking_type="specialty", item_count=500, specialty_items=(("surfboard", 1),)), "item_count"),
])
def test_requests_that_cannot_be_priced_name_the_field(request_kwargs, field):
    with pytest.raises(PricingError) as exc:
        calculate_price(PriceRequest(pickup_date=WEDNESDAY, **request_kwargs), snapshot())
    assert field in exc.value.fields
    assert exc.value.code == "validation_error"


def test_standard_delivery_not_offered_without_an_active_rate():
    with pytest.raises(PricingError) as exc:
        calculate_price(PriceRequest("standard", WEDNESDAY, item_count=3), snapshot(rate=None))
    assert "booking_type" in exc.value.fields


# --- properties ----------------------------------------------------------------------------------------

money = st.decimals(min_value=0, max_value=10_000, places=2, allow_nan=False, allow_infinity=False)
rules_strategy = st.lists(
    st.builds(
        lambda code, amount, pct, days, kind: SurchargeInfo(
            code, code.title(), kind, min(amount, D(100)) if pct else amount, pct, weekdays=tuple(days),
            start_date=dt.date(2027, 1, 1), end_date=dt.date(2027, 12, 31)),
        st.text("abcdefgh", min_size=1, max_size=6), money, st.booleans(),
        st.lists(st.integers(1, 7), max_size=7), st.sampled_from(["day_of_week", "holiday", "date_range"]),
    ),
    max_size=5, unique_by=lambda r: r.code,
)
requests_strategy = st.one_of(
    st.builds(PriceRequest, booking_type=st.just("mini_move"), pickup_date=st.dates(dt.date(2027, 1, 1),
              dt.date(2027, 12, 31)), package=st.sampled_from(list(PACKAGES)), item_count=st.integers(0, 15),
              specialty_items=st.lists(st.tuples(st.sampled_from(list(ITEMS)), st.integers(1, 20)), max_size=3,
                                       unique_by=lambda t: t[0]).map(tuple),
              coi_required=st.booleans()),
    st.builds(PriceRequest, booking_type=st.just("standard"), pickup_date=st.dates(dt.date(2027, 1, 1),
              dt.date(2027, 12, 31)), item_count=st.integers(1, 500), coi_required=st.booleans(),
              specialty_items=st.lists(st.tuples(st.sampled_from(list(ITEMS)), st.integers(1, 20)), max_size=3,
                                       unique_by=lambda t: t[0]).map(tuple)),
    st.builds(PriceRequest, booking_type=st.just("specialty"), pickup_date=st.dates(dt.date(2027, 1, 1),
              dt.date(2027, 12, 31)), coi_required=st.booleans(),
              specialty_items=st.lists(st.tuples(st.sampled_from(list(ITEMS)), st.integers(1, 20)), min_size=1,
                                       max_size=3, unique_by=lambda t: t[0]).map(tuple)),
)


@settings(max_examples=300, deadline=None)
@given(request=requests_strategy, rules=rules_strategy, override=st.none() | money, rate=money)
def test_total_is_the_sum_of_the_lines_never_negative_and_deterministic(request, rules, override, rate):
    catalog = snapshot(override=override, rules=tuple(rules), rate=StandardRateInfo(rate, 3))
    price = calculate_price(request, catalog)
    assert price.total_price == sum((line.amount for line in price.lines), D("0"))
    assert price.total_price == (price.base_price + price.specialty_items_total + price.surcharge_total
                                 + price.coi_fee)
    assert price.total_price >= 0
    assert all(line.amount >= 0 and line.amount == line.amount.quantize(D("0.01")) for line in price.lines)
    assert calculate_price(request, catalog) == price
    assert price.as_json()["total_price"] == f"{price.total_price:.2f}"


@pytest.mark.django_db
def test_an_annual_range_may_wrap_over_new_year_and_is_priced(catalog):
    import datetime as dt
    from decimal import Decimal as D

    from core.catalog.models import SurchargeRule
    from core.catalog.selectors import catalog_snapshot
    from core.catalog.validation import surcharge_rule_problems

    # given a holiday-season rule from Dec 20 to Jan 5, every year: its end is before its start (a wrap),
    # which the database accepts for annual rules
    SurchargeRule.objects.create(code="holiday_season", name="Holiday season", rule_type="date_range",
                                 amount=D("75.00"), start_date=dt.date(2026, 12, 20), end_date=dt.date(2026, 1, 5),
                                 recurs_annually=True)
    # then a Wednesday on Jan 3, 2029 pays it, and a one-off rule may not wrap
    snapshot = catalog_snapshot(dt.date(2029, 1, 3))
    rule = next(r for r in snapshot.surcharge_rules if r.code == "holiday_season")
    assert rule.applies(service_type="standard", on=dt.date(2029, 1, 3))
    assert not rule.applies(service_type="standard", on=dt.date(2029, 1, 10))
    problems = surcharge_rule_problems(rule_type="date_range", amount=D("75"), is_percentage=False,
                                       start_date=dt.date(2026, 12, 20), end_date=dt.date(2026, 1, 5),
                                       recurs_annually=False, weekdays=[], applies_to=[])
    assert list(problems) == ["end_date"]


def test_the_limits_themselves_can_be_priced():
    price = calculate_price(PriceRequest("mini_move", WEDNESDAY, package="full", item_count=500,
                                         specialty_items=(("peloton", 20),)), snapshot())
    assert price.total_price == D("12490.00")
