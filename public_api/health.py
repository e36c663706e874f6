import logging
import os
from pathlib import Path

import redis
from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connection
from huey.contrib.djhuey import HUEY
from ninja import Router, Status

from core.common.errors import ErrorCode
from public_api.errors import error_body
from public_api.schemas import ErrorOut, Schema

router = Router(tags=["health"])
logger = logging.getLogger(__name__)
PROBE_NAME = "health/readiness-probe"


class HealthOut(Schema):
    status: str
    database: str


class ReadyOut(Schema):
    status: str
    checks: dict[str, str]


def _database_is_up() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any database failure means "not healthy"
        return False
    return True


@router.get("", response={200: HealthOut, 503: ErrorOut}, summary="Liveness and database check")
def health(request):
    """200 only when the database answers."""
    if not _database_is_up():
        return Status(503, error_body(ErrorCode.DATABASE_UNAVAILABLE, "The database does not answer."))
    return Status(200, {"status": "ok", "database": connection.vendor})


def _check_database() -> str | None:
    return None if _database_is_up() else "The database does not answer."


def _check_redis() -> str | None:
    if not settings.REDIS_URL:
        return "skipped"
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        return f"Redis does not answer ({type(exc).__name__})."
    return None


def _check_storage() -> str | None:
    try:
        default_storage.exists(PROBE_NAME)  # S3: one HEAD request; bad credentials or bucket raise
    except Exception as exc:  # whatever the backend raises, uploads would fail the same way
        return f"File storage does not answer ({type(exc).__name__})."
    if isinstance(default_storage, FileSystemStorage):
        location = Path(default_storage.location)
        while not location.exists() and location != location.parent:
            location = location.parent  # the storage creates missing folders under the nearest existing one
        if not (location.is_dir() and os.access(location, os.W_OK)):
            return f"The media folder {default_storage.location} is not writable."
    return None


def _check_queue() -> str | None:
    limit = settings.HEALTH_QUEUE_MAX_WAIT_SECONDS
    try:
        waited = HUEY.oldest_wait_seconds()
    except Exception as exc:  # an unreachable queue is a failed check, not a 500
        return f"The job queue does not answer ({type(exc).__name__})."
    if waited > limit:
        return f"A queued job has waited {int(waited)} s for a worker (limit {limit} s)."
    return None


CHECKS = {"database": _check_database, "redis": _check_redis, "storage": _check_storage, "queue": _check_queue}


@router.get("ready/", response={200: ReadyOut, 503: ErrorOut}, summary="Readiness: database, Redis, storage, jobs")
def ready(request):
    """200 when every dependency answers and no job waits too long; 503 naming each failing check."""
    results, failures = {}, {}
    for name, check in CHECKS.items():
        outcome = check()
        results[name] = outcome if outcome == "skipped" else ("ok" if outcome is None else "failed")
        if results[name] == "failed":
            failures[name] = [outcome]
    if failures:
        logger.warning("readiness failed", extra={"failed_checks": sorted(failures)})
        return Status(503, error_body(ErrorCode.NOT_READY, f"Not ready: {', '.join(sorted(failures))}.", failures))
    return Status(200, {"status": "ok", "checks": results})
