import csv
import datetime as dt
import io

import pytest

from core.reporting.reports.month_close import (
    HEADERS,
    month_close_queryset,
    month_close_rows,
    month_close_totals,
)
from core.reporting.reports.revenue import revenue_figures, totals_of
from tests.core.reporting.data import booking, dispute, ny, pay, refund


def _ledger_rows(year, month):
    return list(month_close_rows(month_close_queryset(year=year, month=month)))


def test_every_payment_refund_fee_and_dispute_of_the_month_in_time_order(ledger):
    rows = _ledger_rows(2026, 2)
    b, c, a = ledger["b"], ledger["c"], ledger["a"]
    assert [(r[0], r[1], r[2], str(r[10])) for r in rows] == [
        ("2026-02-01T00:30:00-05:00", "fee", b.booking_number, "-6.10"),
        ("2026-02-01T00:30:00-05:00", "payment", b.booking_number, "200.00"),
        ("2026-02-03T10:00:00-05:00", "refund", a.booking_number, "-25.00"),
        ("2026-02-05T09:00:00-05:00", "payment", c.booking_number, "50.00"),
        ("2026-02-15T12:00:00-05:00", "dispute", b.booking_number, "200.00"),
        ("2026-02-15T12:00:00-05:00", "dispute_fee", b.booking_number, "-15.00"),
        ("2026-02-20T12:00:00-05:00", "dispute", a.booking_number, "10.00"),
        ("2026-02-20T12:00:00-05:00", "dispute_fee", a.booking_number, "-15.00"),
    ]
    fee, payment, refunded, cash, disputed, _fee, won, _won_fee = rows
    assert (disputed[12], won[12], payment[12]) == ("lost", "won", "")
    assert payment[3:5] == (b.customer.name, b.customer.email)
    assert payment[7].startswith("pi_") and payment[8].startswith("ch_") and payment[11] == "USD"
    assert refunded[9].startswith("re_") and disputed[9].startswith("dp_")
    assert cash[6] == "cash" and cash[7] == ""
    assert len(HEADERS) == len(payment)


def test_a_dispute_lost_is_booked_negative_in_the_month_stripe_closed_it(ledger):
    march = _ledger_rows(2026, 3)
    assert [(r[0], r[1], r[2], str(r[10]), r[12]) for r in march] == [
        ("2026-03-01T12:00:00-05:00", "payment", ledger["d"].booking_number, "70.00", ""),
        # the won dispute's fee, given back
        ("2026-03-05T12:00:00-05:00", "dispute_fee_returned", ledger["a"].booking_number, "15.00", "won"),
        ("2026-03-10T09:00:00-04:00", "dispute_lost", ledger["b"].booking_number, "-200.00", "lost"),
    ]
    assert march[1][9].startswith("dp_") and march[2][9].startswith("dp_")


def test_a_payment_at_2330_new_york_on_the_last_day_closes_in_that_month(ledger):
    january = _ledger_rows(2026, 1)
    assert [(r[1], str(r[10])) for r in january] == [("fee", "-3.20"), ("payment", "100.00")]


@pytest.mark.parametrize("month", [1, 2, 3])
def test_totals_equal_the_cash_revenue_report_for_the_month(ledger, month):
    first = dt.date(2026, month, 1)
    last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    report = totals_of(revenue_figures(start=first, end=last, grouping="month"))
    totals = month_close_totals(year=2026, month=month)
    assert totals == {"payment": report["gross"], "refund": report["refunds"], "fee": report["fees"],
                      "dispute": report["disputed"], "dispute_lost": report["disputes_lost"],
                      "dispute_fee": report["dispute_fees_taken"],
                      "dispute_fee_returned": report["dispute_fees_returned"]}
    signed = {"payment": 1, "refund": -1, "fee": -1, "dispute_lost": -1, "dispute_fee": -1, "dispute_fee_returned": 1}
    assert sum(sign * totals[k] for k, sign in signed.items()) == report["net_after_disputes"]
    rows = _ledger_rows(2026, month)
    cents = {k: sum(int(abs(r[10]) * 100) for r in rows if r[1] == k) for k in totals}
    assert cents == totals


def test_one_query_for_the_rows_whatever_the_data_size(ledger, django_assert_num_queries):
    for i in range(10):
        p = pay(booking(pickup=dt.date(2026, 2, 10)), 1000, ny(2026, 2, 10, 12), fee=30)
        refund(p, 100, ny(2026, 2, 11, 12))
        dispute(p, 100, ny(2026, 2, 12, 12), outcome="lost", closed=ny(2026, 2, 13, 12), fee=1500)
    with django_assert_num_queries(1):
        rows = _ledger_rows(2026, 2)
    assert len(rows) == 8 + 60  # payment, fee, refund, dispute, dispute lost, dispute fee: six rows each
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    assert buffer.getvalue().count("\n") == 68


def test_streamed_csv_and_xlsx_carry_every_row_with_escaped_text(ledger):
    from openpyxl import load_workbook

    from core.reporting.reports.files import stream_csv, xlsx_file

    customer = ledger["b"].customer
    customer.name = "=HYPERLINK(\"http://evil\")"
    customer.save()
    chunks = list(stream_csv(HEADERS, month_close_rows(month_close_queryset(year=2026, month=2)), chunk_size=2))
    assert len(chunks) == 5  # eight rows in chunks of two, and the empty last one
    parsed = list(csv.reader(io.StringIO(b"".join(chunks).decode())))
    assert parsed[0] == HEADERS and len(parsed) == 9
    assert parsed[1][3].startswith("'=HYPERLINK") and parsed[1][10] == "-6.10"
    with xlsx_file(HEADERS, month_close_rows(month_close_queryset(year=2026, month=2))) as handle:
        sheet = load_workbook(handle, read_only=True).active
        cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0] == HEADERS and len(cells) == 9
    assert cells[2][1] == "payment" and float(cells[2][10]) == 200.0
