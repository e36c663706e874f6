"""The fixed-window limiter behind the public POSTs (locmem in SQLite runs, Redis when REDIS_URL is set)."""

import pytest

from core.common import ratelimit
from core.common.ratelimit import RateLimited, check_rate_limit


def test_counts_per_client_and_route_and_resets_with_the_window():
    for _ in range(2):
        check_rate_limit(client="a", route="r", limit=2, now=600.0)
    with pytest.raises(RateLimited) as exc:
        check_rate_limit(client="a", route="r", limit=2, now=659.5)
    assert exc.value.status == 429 and exc.value.code == "rate_limited" and exc.value.retry_after == 1
    check_rate_limit(client="b", route="r", limit=2, now=600.0)
    check_rate_limit(client="a", route="other", limit=2, now=600.0)
    check_rate_limit(client="a", route="r", limit=2, now=660.0)  # the next minute starts afresh


def test_reads_the_limit_from_settings_at_call_time_and_zero_disables(settings):
    settings.TOTETAXI = {**settings.TOTETAXI, "RATE_LIMIT_POSTS_PER_MINUTE": 1}
    check_rate_limit(client="c", route="r", now=0.0)
    with pytest.raises(RateLimited):
        check_rate_limit(client="c", route="r", now=0.0)
    settings.TOTETAXI = {**settings.TOTETAXI, "RATE_LIMIT_POSTS_PER_MINUTE": 0}
    check_rate_limit(client="c", route="r", now=0.0)


def test_a_cache_outage_lets_requests_through(monkeypatch):
    def broken(key, *, timeout):
        raise ConnectionError("cache down")

    monkeypatch.setattr(ratelimit, "_count", broken)
    for _ in range(5):
        check_rate_limit(client="d", route="r", limit=1, now=0.0)
