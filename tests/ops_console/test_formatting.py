"""The console's one formatter: money, New York time, codes in words."""

import datetime as dt
from decimal import Decimal

from core.bookings.models import Booking
from core.payments.models import Payment
from ops_console.formatting import (
    EMPTY,
    cents,
    choice_label,
    field_label,
    humanize_code,
    local_datetime,
    money,
    reason_text,
    value_text,
)


def test_money_is_dollars_with_thousands_and_cents():
    assert money(Decimal("2490")) == "$2,490.00"
    assert money(Decimal("-25.5")) == "-$25.50"
    assert money(None) == "$0.00"
    assert cents(249000) == "$2,490.00"


def test_times_are_new_york_wall_time_in_winter_and_summer():
    winter = dt.datetime(2026, 12, 1, 19, 30, tzinfo=dt.UTC)
    summer = dt.datetime(2026, 7, 1, 19, 30, 12, 345678, tzinfo=dt.UTC)
    assert local_datetime(winter) == "Dec. 1, 2026, 2:30 p.m."
    assert local_datetime(summer) == "July 1, 2026, 3:30 p.m."  # EDT, no seconds or microseconds
    assert local_datetime(None) == EMPTY


def test_codes_read_as_words_with_acronyms_in_capitals():
    assert humanize_code("requested_by_customer") == "Requested by customer"
    assert humanize_code("coi_reminder") == "COI reminder"
    assert humanize_code("payment_recovered_from_stripe") == "Payment recovered from Stripe"
    assert field_label(Booking, "coi_required") == "COI required"
    assert field_label(Payment, "refunded_cents") == "Refunded"
    assert choice_label(Booking, "status", "pending") == "Pending payment"
    assert choice_label(Booking, "status", "not_a_status") == "Not a status"


def test_reasons_keep_what_people_wrote():
    assert reason_text("hold_expired") == "Hold expired"
    assert reason_text("Customer moved the date") == "Customer moved the date"
    assert reason_text("") == EMPTY


def test_values_as_people_read_them():
    assert value_text(Payment, "refunded_cents", 25000) == "$250.00"
    assert value_text(Booking, "total_price", Decimal("995")) == "$995.00"
    assert value_text(Booking, "coi_required", True) == "Yes"
    assert value_text(Booking, "payment_status", "partially_refunded") == "Partially refunded"
    assert value_text(Booking, "cancelled_at", None) == EMPTY
