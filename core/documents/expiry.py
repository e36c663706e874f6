"""When a certificate stops covering, in one definition: `Document.expires_at` (kept from the COI's policy
expiration date by core.documents.services.coi), read by the expiry job, the documents list's "expiring" filter
and the dashboard."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q

EXPIRING_DAYS = 14


def policy_expires_at(expiration_date: dt.date | None) -> dt.datetime | None:
    """A policy covers its last day: it stops at the midnight after it, New York time."""
    if expiration_date is None:
        return None
    return dt.datetime.combine(expiration_date + dt.timedelta(days=1), dt.time(0),
                               tzinfo=ZoneInfo(settings.TIME_ZONE))


def expired_q(*, now: dt.datetime, prefix: str = "") -> Q:
    """Documents (or, with prefix "document__", COIs) whose certificate no longer covers at `now`."""
    return Q(**{f"{prefix}expires_at__lte": now})


def expiring_q(*, now: dt.datetime, days: int = EXPIRING_DAYS, prefix: str = "") -> Q:
    """Still covering at `now`, but not `days` days from now."""
    return Q(**{f"{prefix}expires_at__gt": now, f"{prefix}expires_at__lte": now + dt.timedelta(days=days)})
