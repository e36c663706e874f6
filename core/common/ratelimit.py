"""Per-client fixed-window rate limits, counted in the shared cache (Redis when configured)."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache, caches

from core.common.audit import client_ip
from core.common.errors import DomainError, ErrorCode

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60


class RateLimited(DomainError):
    """Too many requests; slow down."""

    code = ErrorCode.RATE_LIMITED

    def __init__(self, message: str = "", *, retry_after: int = WINDOW_SECONDS, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


def check_rate_limit(*, client: str, route: str, limit: int | None = None, window: int = WINDOW_SECONDS,
                     now: float | None = None) -> None:
    """Count one request from `client` on `route`; raise RateLimited past `limit` in the current window.

    The limit is read from settings at call time (tests override TOTETAXI); 0 or less disables it. The window's
    counter lives in the shared cache and is created and incremented atomically, so every worker shares one
    count. A cache outage lets requests through rather than taking the booking site down with it.
    """
    if limit is None:
        limit = int(settings.TOTETAXI.get("RATE_LIMIT_POSTS_PER_MINUTE", 0))
    if limit <= 0:
        return
    now = time.time() if now is None else now
    window_index = int(now // window)
    key = f"rl:{route}:{client}:{window_index}"
    try:
        count = _count(key, timeout=window + 1)
    except Exception:  # the limiter must never be the thing that fails a booking
        logger.warning("rate limit cache unavailable", exc_info=True)
        return
    if count > limit:
        retry_after = max(1, int((window_index + 1) * window - now))
        raise RateLimited(f"Too many requests; retry in {retry_after} seconds.", retry_after=retry_after)


def check_request_rate_limit(request, *, route: str) -> None:
    """check_rate_limit for the request's client (its IP as the audit context reads it)."""
    check_rate_limit(client=client_ip(request) or "-", route=route)


def _count(key: str, *, timeout: int) -> int:
    """Add one to the window's counter and return it: one round trip on Redis, add/incr elsewhere."""
    redis_client = _redis_client(key)
    if redis_client is not None:
        # SET NX starts the window with its expiry; INCR keeps that expiry. MULTI/EXEC: one round trip.
        full_key = cache.make_and_validate_key(key)
        pipe = redis_client.pipeline()
        pipe.set(full_key, 0, ex=timeout, nx=True)
        pipe.incr(full_key)
        return int(pipe.execute()[1])
    # Most requests land in a window that already has a counter: incr first (one operation), and only a
    # window's first request pays for add. incr keeps the counter's expiry.
    try:
        return cache.incr(key)
    except ValueError:  # no counter yet (or it just expired)
        if cache.add(key, 1, timeout=timeout):
            return 1
        return cache.incr(key)  # another worker started the window between our incr and add


def _redis_client(key: str):
    """The raw client behind Django's RedisCache, or None for other cache backends."""
    from django.core.cache.backends.redis import RedisCache

    backend = caches["default"]
    if isinstance(backend, RedisCache):
        return backend._cache.get_client(key, write=True)
    return None
