"""Onfleet: the task API client and webhook signature checks (no ORM)."""

import threading

from core.integrations.onfleet.client import (
    DEFAULT_API_BASE,
    OnfleetClient,
    OnfleetError,
    OnfleetNotConfigured,
    OnfleetRejected,
    OnfleetTask,
    OnfleetUnavailable,
    TaskSpec,
    from_ms,
    parse_task,
    to_ms,
)
from core.integrations.onfleet.signing import sign, verify_signature

_lock = threading.Lock()
_cached: tuple[tuple, OnfleetClient] | None = None


def get_client() -> OnfleetClient:
    """The client for the current ONFLEET_* settings, reused while they stay the same (its pools survive)."""
    from django.conf import settings

    global _cached
    key = (settings.ONFLEET_API_KEY, settings.ONFLEET_API_BASE or None, settings.ONFLEET_MEDIA_BASE or None,
           float(settings.ONFLEET_TIMEOUT), float(settings.ONFLEET_RETRY_BACKOFF))
    with _lock:
        if _cached is None or _cached[0] != key:
            _cached = (key, OnfleetClient(api_key=key[0], api_base=key[1], media_base=key[2],
                                          timeout=(5.0, key[3]), backoff_factor=key[4]))
        return _cached[1]


__all__ = [
    "DEFAULT_API_BASE", "OnfleetClient", "OnfleetError", "OnfleetNotConfigured", "OnfleetRejected", "OnfleetTask",
    "OnfleetUnavailable", "TaskSpec", "from_ms", "get_client", "parse_task", "sign", "to_ms", "verify_signature",
]
