"""The hand-made ledger several report tests share."""

import datetime as dt

import pytest

from tests.core.reporting.data import booking, dispute, ny, pay, refund

D = dt.date


@pytest.fixture
def ledger(db):
    """Four bookings: a payment at 23:30 NY on Jan 31 refunded in February, a dispute, cash, a fee not fetched."""
    a = booking(pickup=D(2026, 1, 20), kind="standard")
    pa = pay(a, 10000, ny(2026, 1, 31, 23, 30), fee=320)
    refund(pa, 2500, ny(2026, 2, 3, 10))
    refund(pa, 100, ny(2026, 2, 4, 10), status="pending")
    b = booking(pickup=D(2026, 2, 10), kind="mini_move")
    pb = pay(b, 20000, ny(2026, 2, 1, 0, 30), fee=610)
    dispute(pb, 20000, ny(2026, 2, 15, 12))
    c = booking(pickup=D(2026, 2, 20), kind="specialty", status="scheduled")
    pay(c, 5000, ny(2026, 2, 5, 9), method="cash")
    d = booking(pickup=D(2026, 3, 2), kind="standard")
    pay(d, 7000, ny(2026, 3, 1, 11), status="failed")
    pay(d, 7000, ny(2026, 3, 1, 12), fee=None)
    return {"a": a, "b": b, "c": c, "d": d}
