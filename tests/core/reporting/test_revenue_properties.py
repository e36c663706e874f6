"""Properties of the revenue report over generated ledgers: grouping never changes a total; net = gross − refunds;
net after disputes = net − fees − disputes lost − dispute fees; the month close ties to the report month by month."""

import datetime as dt

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.reporting.reports.month_close import month_close_totals
from core.reporting.reports.revenue import revenue_figures, totals_of
from tests.core.reporting.data import booking, dispute, ny, pay, refund

START, END = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
moments = st.builds(lambda day, minute: ny(2026, 1, 1, 0, 0) + dt.timedelta(days=day, minutes=minute),
                    st.integers(0, 364), st.integers(0, 24 * 60 - 1))
# a dispute: none, or (opened, outcome, closed) — closed after opened, lost or won or still open
disputes = st.one_of(st.none(), st.tuples(moments, st.sampled_from(["open", "won", "lost"]), moments))
payments = st.lists(st.tuples(moments, st.integers(1, 50_000), st.integers(0, 100), moments,
                              st.sampled_from(["standard", "specialty"]), disputes), min_size=0, max_size=8)


@pytest.mark.django_db
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(ledger=payments, basis=st.sampled_from(["cash", "service"]))
def test_grouped_sums_equal_the_ungrouped_total_and_net_is_gross_minus_refunds(ledger, basis):
    with transaction.atomic():
        for paid_at, cents, refund_pct, refunded_at, kind, disputed in ledger:
            p = pay(booking(pickup=paid_at.date(), kind=kind), cents, paid_at, fee=cents // 30)
            if refund_pct and cents * refund_pct // 100:
                refund(p, cents * refund_pct // 100, max(paid_at, refunded_at))
            if disputed:
                opened, outcome, closed = disputed
                opened = max(paid_at, opened)
                dispute(p, cents, opened, outcome=outcome, closed=None if outcome == "open" else max(opened, closed),
                        fee=1500, fee_returned=1500 if outcome == "won" else 0)
        whole = revenue_figures(start=START, end=END, basis=basis, grouping="none")
        assert len(whole) == 1
        for grouping in ("day", "week", "month"):
            for dimension in (None, "service_type"):
                rows = revenue_figures(start=START, end=END, basis=basis, grouping=grouping, dimension=dimension)
                assert totals_of(rows) == totals_of(whole)
                assert all(r["net"] == r["gross"] - r["refunds"] for r in rows)
                assert all(r["net_after_disputes"] == r["net"] - r["fees"] - r["disputes_lost"] - r["dispute_fees"]
                           for r in rows)
        if basis == "cash":
            months = revenue_figures(start=START, end=END, basis=basis, grouping="month")
            for row in months:
                closed = month_close_totals(year=row["period"].year, month=row["period"].month)
                assert closed == {"payment": row["gross"], "refund": row["refunds"], "fee": row["fees"],
                                  "dispute": row["disputed"], "dispute_lost": row["disputes_lost"],
                                  "dispute_fee": row["dispute_fees_taken"],
                                  "dispute_fee_returned": row["dispute_fees_returned"]}
        transaction.set_rollback(True)
