"""The change policy's pure pricing: every tier boundary, DST, partial refunds on partial refunds, the COI fee."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from core.bookings.errors import TooLateToChange
from core.catalog.change_pricing import (
    hours_until,
    parse_tiers,
    price_cancellation,
    price_reschedule,
)
from core.catalog.errors import PolicyInvalid
from core.catalog.policy_models import ChangePolicy, default_tiers

NY = ZoneInfo("America/New_York")
POLICY = ChangePolicy(version=3, name="t", cancellation_tiers=default_tiers(), reschedule_free_hours=72,
                      reschedule_fee=Decimal("75.00"), reschedule_cutoff_hours=24).info()
PICKUP = dt.datetime(2027, 4, 14, 8, 0, tzinfo=NY)  # no DST switch within a week of it
H = dt.timedelta(hours=1)
S = dt.timedelta(seconds=1)


def ahead(pickup: dt.datetime, delta: dt.timedelta) -> dt.datetime:
    """`delta` of real time before `pickup` (aware arithmetic within one zone is wall-clock arithmetic)."""
    return pickup.astimezone(dt.UTC) - delta


def _cancel(now, *, paid="1000.00", refunded="0", coi="0", coi_kept=False, pickup=PICKUP, total=None):
    return price_cancellation(policy=POLICY, pickup_at=pickup, now=now, paid=Decimal(paid),
                              refunded=Decimal(refunded), coi_fee=Decimal(coi), coi_non_refundable=coi_kept,
                              total=None if total is None else Decimal(total))


@pytest.mark.parametrize(("total", "refunded", "refund"), [
    ("800.00", "200.00", "400.00"),   # rescheduled down: 50 % of the new 800, after the 200 difference came back
    ("1000.00", "100.00", "400.00"),  # a goodwill refund does not lower the price the fee is taken on
    ("1200.00", "0", "500.00"),       # a balance still unpaid: the fee is on what was paid, never more
])
def test_the_percentage_fee_is_on_the_price_as_it_stands_never_above_what_was_paid(total, refunded, refund):
    price = _cancel(ahead(PICKUP, 72 * H), total=total, refunded=refunded)

    assert price.refund_amount == Decimal(refund)
    assert sum(line.amount for line in price.lines) == price.refund_amount


@pytest.mark.parametrize(("before", "refund"), [
    (8 * 24 * H, "1000.00"),
    (7 * 24 * H, "1000.00"),          # exactly 7 days: still the full refund
    (7 * 24 * H - S, "500.00"),       # one second later: 50 %
    (48 * H, "500.00"),               # exactly 48 h: 50 %
    (48 * H - S, "0.00"),             # inside 48 h: nothing back
    (24 * H, "0.00"),
    (S, "0.00"),
])
def test_cancellation_tiers_at_every_boundary(before, refund):
    price = _cancel(ahead(PICKUP, before))

    assert price.refund_amount == Decimal(refund) and price.amount_due == Decimal("0.00")
    assert price.policy_version == 3
    assert sum(line.amount for line in price.lines) == price.refund_amount


def test_cancelling_after_the_pickup_time_is_too_late():
    with pytest.raises(TooLateToChange) as err:
        _cancel(PICKUP)
    assert err.value.code == "too_late_to_change" and err.value.status == 409


def test_tiers_count_real_hours_across_the_spring_dst_switch():
    # Clocks jump 2:00 → 3:00 on Sunday 14 March 2027: 08:00 Saturday to 08:00 Monday is only 47 real hours.
    pickup = dt.datetime(2027, 3, 15, 8, 0, tzinfo=NY)
    same_wall_clock_two_days_before = dt.datetime(2027, 3, 13, 8, 0, tzinfo=NY)
    exactly_48_hours_before = ahead(pickup, 48 * H)

    assert exactly_48_hours_before.astimezone(NY).hour == 7
    assert hours_until(pickup, same_wall_clock_two_days_before) == 47
    assert _cancel(same_wall_clock_two_days_before, pickup=pickup).refund_amount == Decimal("0.00")
    assert _cancel(exactly_48_hours_before, pickup=pickup).refund_amount == Decimal("500.00")


def test_tiers_count_real_hours_across_the_autumn_dst_switch():
    # Clocks fall back 2:00 → 1:00 on Sunday 7 November 2027: 08:00 to 08:00 over it is 169 real hours.
    pickup = dt.datetime(2027, 11, 8, 8, 0, tzinfo=NY)
    same_wall_clock_a_week_before = dt.datetime(2027, 11, 1, 8, 0, tzinfo=NY)

    assert hours_until(pickup, same_wall_clock_a_week_before) == 169
    assert _cancel(ahead(pickup, 7 * 24 * H), pickup=pickup).refund_amount == Decimal("1000.00")
    assert _cancel(ahead(pickup, 7 * 24 * H - S), pickup=pickup).refund_amount == Decimal("500.00")


def test_a_partial_refund_on_top_of_an_earlier_partial_refund():
    # 50 % fee on the $1,000 paid leaves $500 owed in all; $200 went back earlier, so $300 now.
    price = _cancel(PICKUP - 3 * 24 * H, refunded="200.00")

    assert price.refund_amount == Decimal("300.00")
    assert [(ln.code, ln.amount) for ln in price.lines] == [
        ("paid", Decimal("1000.00")), ("cancellation_fee", Decimal("-500.00")),
        ("earlier_refunds", Decimal("-200.00"))]


def test_earlier_refunds_larger_than_what_is_owed_never_make_the_refund_negative():
    assert _cancel(PICKUP - 3 * 24 * H, refunded="700.00").refund_amount == Decimal("0.00")


@pytest.mark.parametrize(("coi_kept", "before", "refund"), [
    (True, 8 * 24 * H, "950.00"),     # full-refund tier: all but the issued certificate
    (True, 3 * 24 * H, "475.00"),     # the 50 % fee is on what is refundable, not on the COI fee again
    (False, 8 * 24 * H, "1000.00"),   # no certificate issued yet: the COI fee comes back too
])
def test_the_coi_fee_is_kept_once_a_certificate_was_issued(coi_kept, before, refund):
    price = _cancel(PICKUP - before, coi="50.00", coi_kept=coi_kept)

    assert price.refund_amount == Decimal(refund)
    assert ("coi_fee" in {ln.code for ln in price.lines}) is coi_kept


def test_nothing_paid_means_nothing_back_and_no_coi_line():
    price = _cancel(PICKUP - 3 * 24 * H, paid="0", coi="50.00", coi_kept=True)

    assert price.refund_amount == Decimal("0.00") and [ln.code for ln in price.lines] == ["paid"]


def test_a_fixed_fee_tier_is_capped_at_what_was_paid():
    policy = ChangePolicy(version=1, name="t", cancellation_tiers=[
        {"min_hours_before": 0, "fee_type": "fixed", "fee": "150"}]).info()

    def refund(paid):
        return price_cancellation(policy=policy, pickup_at=PICKUP, now=PICKUP - 100 * H, paid=Decimal(paid),
                                  refunded=Decimal(0), coi_fee=Decimal(0), coi_non_refundable=False).refund_amount

    assert refund("1000.00") == Decimal("850.00") and refund("100.00") == Decimal("0.00")


@pytest.mark.parametrize(("before", "new_total", "due", "refund"), [
    (72 * H, "1100.00", "100.00", "0.00"),       # exactly 72 h: free; the dearer date costs the difference
    (72 * H, "900.00", "0.00", "100.00"),        # the cheaper date gives the difference back
    (72 * H - S, "1000.00", "75.00", "0.00"),    # inside 72 h: the change fee
    (48 * H, "900.00", "0.00", "25.00"),         # fee and a cheaper date net out
    (24 * H, "1000.00", "75.00", "0.00"),        # exactly 24 h: still allowed
])
def test_reschedule_rules(before, new_total, due, refund):
    price = price_reschedule(policy=POLICY, pickup_at=PICKUP, now=PICKUP - before, old_total=Decimal("1000.00"),
                             new_total=Decimal(new_total), paid=Decimal("1000.00"), refunded=Decimal(0))

    assert (price.amount_due, price.refund_amount) == (Decimal(due), Decimal(refund))


def test_reschedule_inside_24_hours_is_refused():
    with pytest.raises(TooLateToChange):
        price_reschedule(policy=POLICY, pickup_at=PICKUP, now=PICKUP - 24 * H + S, old_total=Decimal(1),
                         new_total=Decimal(1), paid=Decimal(1), refunded=Decimal(0))


def test_reschedule_never_refunds_more_than_is_left_of_what_was_paid():
    price = price_reschedule(policy=POLICY, pickup_at=PICKUP, now=PICKUP - 100 * H, old_total=Decimal("1000.00"),
                             new_total=Decimal("800.00"), paid=Decimal("1000.00"), refunded=Decimal("900.00"))

    assert price.refund_amount == Decimal("100.00")


@pytest.mark.parametrize("tiers", [
    [], "x", [{"min_hours_before": -1, "fee_type": "percent", "fee": "0"}],
    [{"min_hours_before": 0, "fee_type": "percent", "fee": "101"}],
    [{"min_hours_before": 0, "fee_type": "bogus", "fee": "1"}],
    [{"min_hours_before": 0, "fee_type": "fixed", "fee": "NaN"}],
    [{"min_hours_before": 0, "fee_type": "fixed"}],
    [{"min_hours_before": 5, "fee_type": "fixed", "fee": "1"}, {"min_hours_before": 5, "fee_type": "fixed",
                                                                 "fee": "2"}],
])
def test_bad_tiers_are_refused_with_a_field_path(tiers):
    with pytest.raises(PolicyInvalid) as err:
        parse_tiers(tiers)
    assert err.value.fields


def test_the_policy_model_validates_its_tiers():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as err:
        ChangePolicy(version=1, name="t", cancellation_tiers=[]).clean()
    assert "cancellation_tiers" in err.value.message_dict


def test_a_pickup_closer_than_the_last_tier_is_too_late():
    policy = ChangePolicy(version=1, name="t", cancellation_tiers=[
        {"min_hours_before": 24, "fee_type": "percent", "fee": "0"}]).info()
    with pytest.raises(TooLateToChange):
        price_cancellation(policy=policy, pickup_at=PICKUP, now=PICKUP - 23 * H, paid=Decimal(1),
                           refunded=Decimal(0), coi_fee=Decimal(0), coi_non_refundable=False)
