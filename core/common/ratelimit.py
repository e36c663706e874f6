"""Per-client fixed-window rate limits, counted in the shared cache (Redis when configured)."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache

from core.common.errors import DomainError

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60


class RateLimited(DomainError):
    """Too many requests; slow down."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str = "", *, retry_after: int = WINDOW_SECONDS, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


def check_rate_limit(*, client: str, route: str, limit: int | None = None, window: int = WINDOW_SECONDS,
                     now: float | None = None) -> None:
    """Count one request from `client` on `route`; raise RateLimited past `limit` in the current window.

    The limit is read from settings at call time (tests override TOTETAXI); 0 or less disables it. `cache.add`
    creates the window's counter atomically and `cache.incr` is atomic on Redis, so concurrent workers share
    one count. A cache outage lets requests through rather than taking the booking site down with it.
    """
    if limit is None:
        limit = int(settings.TOTETAXI.get("RATE_LIMIT_POSTS_PER_MINUTE", 0))
    if limit <= 0:
        return
    now = time.time() if now is None else now
    window_index = int(now // window)
    key = f"rl:{route}:{client}:{window_index}"
    try:
        if cache.add(key, 1, timeout=window + 1):
            count = 1
        else:
            try:
                count = cache.incr(key)
            except ValueError:  # the counter expired between add and incr: this request starts a new one
                cache.add(key, 1, timeout=window + 1)
                count = 1
    except Exception:  # the limiter must never be the thing that fails a booking
        logger.warning("rate limit cache unavailable", exc_info=True)
        return
    if count > limit:
        retry_after = max(1, int((window_index + 1) * window - now))
        raise RateLimited(f"Too many requests; retry in {retry_after} seconds.", retry_after=retry_after)
