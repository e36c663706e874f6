"""Processing stored webhook deliveries (StoredEvent rows): once, with attempts and errors recorded, and a
sweep for the ones whose after-commit job was lost (Huey has no acknowledgements) or failed."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from django.db.models import F, QuerySet
from django.utils import timezone

from core.common.errors import DomainError, ErrorCode

logger = logging.getLogger(__name__)

# A delivery still unprocessed this long after it arrived is picked up by the sweep, at most this many times.
STUCK_AFTER = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 20


class InvalidSignature(DomainError):
    """The webhook's signature header does not verify."""

    code = ErrorCode.INVALID_SIGNATURE


def process_stored_event(model, pk, handle: Callable) -> bool:
    """Run `handle(record)` for an unprocessed row; True when processed now. `handle` may return extra
    columns to set with processed_at; an exception is recorded on the row and raised (the job retries)."""
    record = model.objects.filter(pk=pk, processed_at__isnull=True).first()
    if record is None:
        return False
    model.objects.filter(pk=pk).update(attempts=F("attempts") + 1)
    try:
        extra = handle(record) or {}
    except Exception as exc:
        model.objects.filter(pk=pk).update(processing_error=f"{type(exc).__name__}: {exc}"[:4000])
        raise
    model.objects.filter(pk=pk, processed_at__isnull=True).update(processed_at=timezone.now(), processing_error="",
                                                                  **extra)
    return True


def retry_stuck_events(unprocessed: QuerySet, process: Callable[[int], bool], *, now: dt.datetime, limit: int,
                       order_by: str, stuck_after: dt.timedelta = STUCK_AFTER, max_attempts: int = MAX_ATTEMPTS
                       ) -> int:
    """Process rows of `unprocessed` received over `stuck_after` ago with attempts left; returns how many."""
    ids = list(unprocessed.filter(processed_at__isnull=True, received_at__lt=now - stuck_after,
                                  attempts__lt=max_attempts).order_by(order_by).values_list("pk", flat=True)[:limit])
    done = 0
    for pk in ids:
        try:
            done += process(pk)
        except Exception:
            logger.exception("%s %s failed again", unprocessed.model.__name__, pk)
    return done
