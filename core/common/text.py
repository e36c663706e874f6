"""What text the database can store, checked once for every interface."""

from __future__ import annotations


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored, or None. PostgreSQL refuses NUL bytes and lone surrogates cannot be encoded:
    caught here they are a field error instead of a database error (a 500)."""
    if "\x00" in value:
        return "Must not contain NUL characters."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Must be valid Unicode text."
    return None
