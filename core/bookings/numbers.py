"""Booking numbers TT-<year>-<6 digits>: one atomic upsert per number, safe under concurrency."""

from django.db import connection

from core.bookings.models import BookingNumberSequence

_TABLE = BookingNumberSequence._meta.db_table


def next_booking_number(year: int) -> str:
    """Take the next number for `year`; call inside the booking's transaction (a rollback returns it)."""
    # INSERT … ON CONFLICT … RETURNING is one statement on PostgreSQL and SQLite ≥ 3.35: concurrent callers
    # queue on the row lock instead of reading the same last_value.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_TABLE} (year, last_value) VALUES (%s, 1) "  # noqa: S608 (table name is ours)
            f"ON CONFLICT (year) DO UPDATE SET last_value = {_TABLE}.last_value + 1 RETURNING last_value",
            [year],
        )
        (value,) = cursor.fetchone()
    return f"TT-{year}-{value:06d}"
