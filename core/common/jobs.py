"""Our Huey classes: task ids that carry when a job was enqueued and by which request.

Huey messages have no enqueue time, so the readiness check could not tell a job that has waited ten minutes
from one enqueued a moment ago; and the consumer could not log which request a job came from. Both ride in
the task id (`<enqueued ms>.<request id>.<uuid>`), which Huey stores and hands back unchanged.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import time
import uuid
from dataclasses import dataclass

import redis
from huey import PriorityRedisHuey, SqliteHuey

from core.common.request_id import bound_request_id, current_request_id

logger = logging.getLogger(__name__)
# What the queue's storage raises when Redis (or the SQLite queue file) is unavailable.
STORAGE_ERRORS = (redis.RedisError, sqlite3.Error)


@dataclass(frozen=True)
class JobStamp:
    enqueued_at: float  # unix seconds
    request_id: str


def stamped_id(*, now: float | None = None, request_id: str | None = None) -> str:
    millis = int((time.time() if now is None else now) * 1000)
    return f"{millis}.{request_id if request_id is not None else current_request_id()}.{uuid.uuid4().hex}"


def parse_stamp(task_id: str) -> JobStamp | None:
    parts = task_id.split(".")
    if len(parts) != 3 or not parts[0].isdigit():
        return None  # a task enqueued by plain Huey (e.g. before a deploy)
    return JobStamp(enqueued_at=int(parts[0]) / 1000, request_id=parts[1])


def waiting_seconds(message, *, now: float | None = None) -> float | None:
    """How long a queued message has been ready to run; None when it carries no stamp."""
    stamp = parse_stamp(str(message.id))
    if stamp is None:
        return None
    ready_since = stamp.enqueued_at
    if message.eta is not None:  # scheduled or retried: it only became runnable at its eta
        eta = message.eta if message.eta.tzinfo else message.eta.replace(tzinfo=dt.UTC)  # Huey keeps naive UTC
        ready_since = max(ready_since, eta.timestamp())
    return max(0.0, (time.time() if now is None else now) - ready_since)


class _StampedIds:
    def enqueue(self, task):
        if parse_stamp(str(task.id)) is None:
            task.id = stamped_id()
            task.revoke_id = f"r:{task.id}"
        if self.immediate:
            return super().enqueue(task)
        try:
            return super().enqueue(task)
        except STORAGE_ERRORS:
            # Every job's intent is already in the database (an unprocessed provider event, a pending
            # notification or refund) and a periodic sweep finishes it: a queue outage must not turn the
            # request that committed it into a 500 (enqueues run in on_commit, after the commit).
            logger.error("job not enqueued (queue unavailable); the sweeps will pick up its intent",
                         extra={"task": task.name, "task_id": task.id}, exc_info=True)
            return None

    def _execute(self, task, timestamp):
        stamp = parse_stamp(str(task.id))
        with bound_request_id(stamp.request_id if stamp else ""):
            return super()._execute(task, timestamp)

    def oldest_wait_seconds(self, *, sample: int = 50, now: float | None = None) -> float:
        """The longest wait among the first `sample` queued jobs (the queue's head holds the oldest)."""
        waits = []
        for raw in self.storage.enqueued_items(sample):
            wait = waiting_seconds(self.serializer.deserialize(raw), now=now)
            if wait is not None:
                waits.append(wait)
        return max(waits, default=0.0)


class TotetaxiRedisHuey(_StampedIds, PriorityRedisHuey):
    pass


class TotetaxiSqliteHuey(_StampedIds, SqliteHuey):
    pass
