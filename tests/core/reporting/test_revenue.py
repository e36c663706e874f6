import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum

from core.common.errors import ValidationError
from core.payments.models import Dispute, Payment, Refund
from core.reporting.reports.revenue import (
    OTHER_LABEL,
    revenue_figures,
    revenue_report,
    specialty_item_figures,
    totals_of,
    with_other_row,
)
from tests.core.reporting.data import booking, dispute, ny, pay, refund, specialty_line

D = dt.date
Q1 = {"start": D(2026, 1, 1), "end": D(2026, 3, 31)}


def _pick(rows, *keys):
    return [tuple(r[k] for k in keys) for r in rows]


MEASURES = ("gross", "refunds", "net", "fees", "net_of_fees", "disputes_lost", "net_after_disputes", "disputed",
            "payments", "refund_count", "disputes", "lost_count", "fees_unknown", "dispute_fees")

CASES = [
    # basis, grouping, dimension, expected rows: (period, dim?, *MEASURES) in cents
    ("cash", "month", None, [
        (D(2026, 1, 1), 10000, 0, 10000, 320, 9680, 0, 9680, 0, 1, 0, 0, 0, 0, 0),
        # two disputes opened in February (20000 lost in March, 1000 won): information only; Stripe took its
        # 15.00 fee on each when they opened
        (D(2026, 2, 1), 25000, 2500, 22500, 610, 21890, 0, 18890, 21000, 2, 1, 2, 0, 0, 3000),
        # the 20000 dispute is lost on March 10: March's money; the won one's fee came back on March 5
        (D(2026, 3, 1), 7000, 0, 7000, 0, 7000, 20000, -11500, 0, 1, 0, 0, 1, 1, -1500),
    ]),
    ("service", "month", None, [
        # booking a's dispute fee was taken and given back: nothing
        (D(2026, 1, 1), 10000, 2500, 7500, 320, 7180, 0, 7180, 1000, 1, 1, 1, 0, 0, 0),
        # booking b (picked up in February) lost its dispute: service basis puts it and its fee in February
        (D(2026, 2, 1), 20000, 0, 20000, 610, 19390, 20000, -2110, 20000, 1, 0, 1, 1, 0, 1500),
        (D(2026, 3, 1), 7000, 0, 7000, 0, 7000, 0, 7000, 0, 1, 0, 0, 0, 1, 0),
    ]),
    ("cash", "none", "service_type", [
        (None, "mini_move", 20000, 0, 20000, 610, 19390, 20000, -2110, 20000, 1, 0, 1, 1, 0, 1500),
        (None, "specialty", 5000, 0, 5000, 0, 5000, 0, 5000, 0, 1, 0, 0, 0, 0, 0),
        (None, "standard", 17000, 2500, 14500, 320, 14180, 0, 14180, 1000, 2, 1, 1, 0, 1, 0),
    ]),
    ("cash", "none", "package", [
        (None, None, 22000, 2500, 19500, 320, 19180, 0, 19180, 1000, 3, 1, 1, 0, 1, 0),
        (None, "petite", 20000, 0, 20000, 610, 19390, 20000, -2110, 20000, 1, 0, 1, 1, 0, 1500),
    ]),
]


@pytest.mark.parametrize(("basis", "grouping", "dimension", "expected"), CASES)
def test_revenue_figures_on_the_hand_made_ledger(ledger, basis, grouping, dimension, expected):
    rows = revenue_figures(**Q1, basis=basis, grouping=grouping, dimension=dimension)
    keys = ("period", "dim", *MEASURES) if dimension else ("period", *MEASURES)
    assert _pick(rows, *keys) == expected


def test_weekly_cash_puts_late_saturday_and_early_sunday_in_the_same_monday_week(ledger):
    rows = revenue_figures(start=D(2026, 1, 26), end=D(2026, 2, 8), grouping="week")
    # Sat Jan 31 23:30 NY and Sun Feb 1 00:30 NY are both in the week of Monday Jan 26.
    assert _pick(rows, "period", "gross") == [(D(2026, 1, 26), 30000), (D(2026, 2, 2), 5000)]


@pytest.mark.parametrize(("late", "early", "weeks"), [
    # spring forward (Sun Mar 8 2026): 23:30 EDT Sunday is already Monday in UTC
    (ny(2026, 3, 8, 23, 30), ny(2026, 3, 9, 0, 30), [(D(2026, 3, 2), 100), (D(2026, 3, 9), 200)]),
    # fall back (Sun Nov 1 2026): 23:30 EST Sunday is Monday 04:30 UTC
    (ny(2026, 11, 1, 23, 30), ny(2026, 11, 2, 0, 30), [(D(2026, 10, 26), 100), (D(2026, 11, 2), 200)]),
])
def test_weeks_around_dst_changes_follow_new_york(db, late, early, weeks):
    b = booking(pickup=late.date())
    pay(b, 100, late)
    pay(b, 200, early)
    rows = revenue_figures(start=weeks[0][0], end=weeks[1][0] + dt.timedelta(days=6), grouping="week")
    assert _pick(rows, "period", "gross") == weeks


def test_a_refund_in_a_later_month_lowers_that_month_on_a_cash_basis(ledger):
    rows = revenue_figures(**Q1, grouping="month")
    assert [r["refunds"] for r in rows] == [0, 2500, 0]
    assert rows[0]["net"] == 10000  # January keeps its payment whole


def test_totals_tie_to_the_payment_refund_fee_and_dispute_rows(ledger):
    totals = totals_of(revenue_figures(**Q1, grouping="day"))
    paid = Payment.objects.filter(status="succeeded").aggregate(g=Sum("amount_cents"), f=Sum("stripe_fee_cents"))
    refunded = Refund.objects.filter(status="succeeded").aggregate(r=Sum("amount_cents"))
    opened = Dispute.objects.aggregate(d=Sum("amount_cents"))
    lost = Dispute.objects.filter(outcome="lost").aggregate(d=Sum("amount_cents"))
    dispute_fees = Dispute.objects.aggregate(taken=Sum("fee_cents"), back=Sum("fee_returned_cents"))
    assert (totals["gross"], totals["fees"], totals["refunds"]) == (paid["g"], paid["f"], refunded["r"])
    assert (totals["disputed"], totals["disputes_lost"]) == (opened["d"], lost["d"]) == (21000, 20000)
    assert totals["dispute_fees"] == dispute_fees["taken"] - dispute_fees["back"] == 1500
    assert totals["net_after_disputes"] == (paid["g"] - refunded["r"] - paid["f"] - lost["d"]
                                            - dispute_fees["taken"] + dispute_fees["back"])


def test_report_in_dollars_with_cards_and_the_honest_notes(ledger):
    report = revenue_report(**Q1, grouping="month")
    assert report.summary["Net"] == Decimal("395.00")
    assert report.summary["Net of fees"] == Decimal("385.70")
    assert report.summary["Disputes lost"] == Decimal("200.00")
    assert report.summary["Dispute fees"] == Decimal("15.00")
    assert report.summary["Net after disputes"] == Decimal("170.70")
    assert report.main.totals["disputed"] == Decimal("210.00")
    assert any("closed as lost" in n for n in report.notes)
    assert any("Dispute fees: Stripe's fee" in n for n in report.notes)


def test_filters_by_service_type_and_payment_method(ledger):
    rows = revenue_figures(**Q1, grouping="none", service_type="standard")
    assert _pick(rows, "gross", "refunds") == [(17000, 2500)]
    rows = revenue_figures(**Q1, grouping="none", payment_method="cash")
    assert _pick(rows, "gross", "refunds") == [(5000, 0)]


@pytest.mark.parametrize(("params", "field"), [
    ({"start": D(2026, 2, 1), "end": D(2026, 1, 1)}, "end"),
    ({**Q1, "grouping": "hourly"}, "grouping"),
    ({**Q1, "basis": "accrual"}, "basis"),
    ({**Q1, "dimension": "customer__email"}, "dimension"),
    ({**Q1, "payment_method": "bitcoin"}, "payment_method"),
])
def test_bad_parameters_are_refused_with_the_field(db, params, field):
    with pytest.raises(ValidationError) as err:
        revenue_figures(**params)
    assert field in err.value.fields


@pytest.mark.parametrize("basis", ["cash", "service"])
def test_query_count_is_constant_in_the_data_size(ledger, django_assert_num_queries, basis):
    # six grouped queries for the figures, two for the specialty items
    with django_assert_num_queries(8):
        revenue_report(**Q1, basis=basis, grouping="day", dimension="service_type")
    for i in range(20):
        b = booking(pickup=D(2026, 1, 5 + i), kind="mini_move")
        specialty_line(b, "crib", unit_price="10.00")
        p = pay(b, 1000 + i, ny(2026, 1, 5 + i, 12), fee=30)
        refund(p, 100, ny(2026, 2, 5 + i, 12))
        dispute(p, 100, ny(2026, 2, 5 + i, 13), outcome="won", closed=ny(2026, 3, 5 + i, 13), fee=1500,
                fee_returned=1500)
    with django_assert_num_queries(8):
        revenue_report(**Q1, basis=basis, grouping="day", dimension="service_type")


ITEMS = [
    # basis, expected (item, bookings, gross, refunds, net) in cents, written out by hand:
    # Peloton on a: 30.00 of 100.00 → 30% of the 10000 payment and of the 2500 refund; on c (cash only): 2 × 10.00
    # of 50.00 → 40% of 5000. Surfboard on b: 33.34 of 300.00 → 20000 × 3334 / 30000 = 2222.67, rounded down.
    ("cash", [("Peloton", 2, 5000, 750, 4250), ("Surfboard", 1, 2222, 0, 2222),
              (OTHER_LABEL, None, 34778, 1750, 33028)]),
    ("service", [("Peloton", 1, 3000, 750, 2250), ("Surfboard", 1, 2222, 0, 2222),
                 (OTHER_LABEL, None, 31778, 1750, 30028)]),
]


@pytest.mark.parametrize(("basis", "expected"), ITEMS)
def test_specialty_items_take_their_price_share_and_the_rest_ties_to_the_totals(ledger, basis, expected):
    totals = totals_of(revenue_figures(**Q1, basis=basis, grouping="none"))
    rows = with_other_row(specialty_item_figures(**Q1, basis=basis), totals)
    assert _pick(rows, "item", "bookings", "gross", "refunds", "net") == expected
    assert [sum(r[m] for r in rows) for m in ("gross", "refunds", "net")] == [
        totals["gross"], totals["refunds"], totals["net"]]


def test_the_report_shows_the_specialty_items_in_dollars(ledger):
    report = revenue_report(**Q1, grouping="month")
    items = report.sections[1]
    assert [(r["item"], r["gross"]) for r in items.rows] == [
        ("Peloton", Decimal("50.00")), ("Surfboard", Decimal("22.22")), (OTHER_LABEL, Decimal("347.78"))]
    assert items.totals["gross"] == report.main.totals["gross"] == Decimal("420.00")
