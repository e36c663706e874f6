"""The hand-made ledger several report tests share."""

import datetime as dt

import pytest

from tests.core.reporting.data import booking, dispute, ny, pay, refund, specialty_line

D = dt.date


@pytest.fixture
def ledger(db):
    """Four bookings: a payment at 23:30 NY on Jan 31 refunded in February, a dispute opened in February and lost
    in March, one won (Stripe's dispute fee taken on both, returned on the won one), cash, a fee not fetched; specialty item lines on three of them."""
    a = booking(pickup=D(2026, 1, 20), kind="standard")
    specialty_line(a, "peloton", unit_price="30.00")  # 30% of a's 100.00
    pa = pay(a, 10000, ny(2026, 1, 31, 23, 30), fee=320)
    refund(pa, 2500, ny(2026, 2, 3, 10))
    refund(pa, 100, ny(2026, 2, 4, 10), status="pending")
    # Stripe's 15.00 dispute fee: taken on both, given back on the one won
    dispute(pa, 1000, ny(2026, 2, 20, 12), outcome="won", closed=ny(2026, 3, 5, 12), fee=1500, fee_returned=1500)
    b = booking(pickup=D(2026, 2, 10), kind="mini_move", total="300.00")  # paid 200.00 of it
    specialty_line(b, "surfboard", unit_price="33.34")  # 20000 × 3334 / 30000 = 2222.67: 2222 cents
    pb = pay(b, 20000, ny(2026, 2, 1, 0, 30), fee=610)
    dispute(pb, 20000, ny(2026, 2, 15, 12), outcome="lost", closed=ny(2026, 3, 10, 9), fee=1500)
    c = booking(pickup=D(2026, 2, 20), kind="specialty", status="scheduled", total="50.00")
    specialty_line(c, "peloton", quantity=2, unit_price="10.00")  # 40% of c's 50.00
    pay(c, 5000, ny(2026, 2, 5, 9), method="cash")
    d = booking(pickup=D(2026, 3, 2), kind="standard")
    pay(d, 7000, ny(2026, 3, 1, 11), status="failed")
    pay(d, 7000, ny(2026, 3, 1, 12), fee=None)
    return {"a": a, "b": b, "c": c, "d": d}
