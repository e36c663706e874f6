"""Idempotency-Key handling shared by the API's retried POSTs (bookings.create, payments.create_intent).

The first request with a key claims it inside its own transaction and stores its response there; a repeat
with the same key and body replays that response, a repeat with another body is an idempotency_conflict.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone

from core.bookings.errors import IdempotencyConflict
from core.bookings.models import IdempotencyRecord
from core.common.errors import ValidationError

SCOPE_BOOKINGS_CREATE = "bookings.create"
RETENTION = dt.timedelta(hours=24)
MAX_KEY_LENGTH = 255

_TABLE = IdempotencyRecord._meta.db_table


@dataclass(frozen=True)
class Replay:
    """The stored response of the request that first used the key."""

    status: int
    body: dict


def request_fingerprint(payload: Any) -> str:
    """A stable hash of a request body (key order and whitespace do not matter)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def validate_key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH or "\x00" in key:
        raise ValidationError("The Idempotency-Key header must be 1–255 characters.",
                              fields={"Idempotency-Key": ["1–255 characters."]})
    return key


def idempotency_claim(*, scope: str, key: str, request_hash: str, now: dt.datetime | None = None
                      ) -> int | Replay:
    """Claim `key` in the caller's transaction: the new record's id, or the Replay of whoever claimed it first.

    INSERT … ON CONFLICT DO NOTHING makes a concurrent request with the same key wait on the unique index until
    the first transaction ends: after a commit we see its record and replay it; after a rollback we own the key.
    """
    now = now or timezone.now()
    for _attempt in range(2):
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {_TABLE} (scope, key, request_hash, created_at) VALUES (%s, %s, %s, %s) "  # noqa: S608
                "ON CONFLICT (scope, key) DO NOTHING RETURNING id",
                [scope, key, request_hash, connection.ops.adapt_datetimefield_value(now)],
            )
            row = cursor.fetchone()
        if row is not None:
            return int(row[0])
        existing = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if existing is None:
            continue  # purged between the two statements: claim again
        if existing.created_at < now - RETENTION:
            existing.delete()  # an expired key starts afresh
            continue
        if existing.request_hash != request_hash:
            raise IdempotencyConflict(
                "This Idempotency-Key was already used with a different request.",
                fields={"Idempotency-Key": ["Already used with a different request body."]},
            )
        if existing.response_status is None:
            raise IdempotencyConflict("A request with this Idempotency-Key is still in progress; retry shortly.")
        return Replay(status=existing.response_status, body=existing.response_body or {})
    raise IdempotencyConflict("This Idempotency-Key could not be claimed; retry shortly.")


def idempotency_complete(*, record_id: int, status: int, body: dict, booking_id=None) -> None:
    """Store the response in the same transaction as the work it describes (not audited: a plain update)."""
    IdempotencyRecord.objects.filter(pk=record_id).update(
        response_status=status, response_body=body, booking_id=booking_id
    )


def idempotency_purge(*, now: dt.datetime | None = None) -> int:
    """Delete records older than the retention (24 h); returns how many."""
    now = now or timezone.now()
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=now - RETENTION).delete()
    return deleted
