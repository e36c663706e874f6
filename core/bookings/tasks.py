"""Huey wrappers for bookings: thin, idempotent, periodic ones locked."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from core.bookings.idempotency import idempotency_purge
from core.bookings.services import booking_expire_holds, quote_purge
from core.common.audit import acting_as


@db_periodic_task(crontab(minute="*"))
@lock_task("bookings-expire-holds")
def expire_booking_holds() -> int:
    """Every minute: cancel unpaid bookings whose hold expired, freeing their slots."""
    with acting_as(None, user_agent="huey:expire_booking_holds"):
        return booking_expire_holds()


@db_periodic_task(crontab(minute="17"))
@lock_task("bookings-purge-idempotency")
def purge_idempotency_records() -> int:
    """Hourly: forget Idempotency-Keys older than 24 h (Stripe's own retention; clients never retry later)."""
    return idempotency_purge()


@db_periodic_task(crontab(minute="37"))
@lock_task("bookings-purge-quotes")
def purge_quotes() -> int:
    """Hourly: delete quotes expired for over a day that no booking was made from."""
    return quote_purge()
