"""Checks on decoded provider payloads before anything is stored (webhooks are signed, not necessarily sane)."""

from __future__ import annotations


def contains_nul(value) -> bool:
    """Whether a NUL character hides anywhere in a decoded JSON value or form field (keys included).

    PostgreSQL refuses NUL in text and jsonb, so such a payload would fail at the INSERT, as a 500.
    """
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(contains_nul(v) for v in value)
    return False
