"""Onfleet webhook signatures: X-Onfleet-Signature = hex HMAC-SHA512 of the raw body, key = hex-decoded secret."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable


def sign(body: bytes, secret_hex: str) -> str:
    return hmac.new(bytes.fromhex(secret_hex), body, hashlib.sha512).hexdigest()


def verify_signature(body: bytes, signature: str | None, secrets: Iterable[str]) -> bool:
    """True when `signature` matches any of `secrets` (several during a rotation); malformed ones never do."""
    if not signature:
        return False
    signature = signature.strip().lower()
    for secret in secrets:
        try:
            expected = sign(body, secret)
        except ValueError:  # not hex: a configuration error, never a match
            continue
        if hmac.compare_digest(expected, signature):
            return True
    return False
