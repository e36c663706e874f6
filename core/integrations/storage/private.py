"""The one way in and out of the "documents" storage (and of other private storages: generated reports live in
"default", private on S3 and outside any public URL locally; the same signed URLs serve them)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.storage import storages
from django.urls import reverse

_SALT = "documents.signed-file"


@dataclass(frozen=True)
class SignedFile:
    """What a signed local URL grants: one key, served under this name and type."""

    key: str
    filename: str
    content_type: str
    alias: str = "documents"


def _storage(alias: str = "documents"):
    return storages[alias]


def _is_s3(storage) -> bool:
    return storage.__class__.__module__.startswith("storages.backends.s3")


def new_key(prefix: str) -> str:
    """A random storage key: user-supplied names never become paths."""
    return f"{prefix}/{secrets.token_hex(2)}/{secrets.token_urlsafe(24)}"


def save(key: str, content: IO[bytes], *, content_type: str) -> str:
    """Store `content` (streamed in chunks by the backend) under exactly `key`; returns the key."""
    storage = _storage()
    wrapped = File(content, name=key)
    wrapped.content_type = content_type  # S3Storage stores it with the object (never guessed from the key)
    stored = storage.save(key, wrapped)
    if stored != key:  # a collision renamed it: random keys make this (practically) impossible
        storage.delete(stored)
        raise RuntimeError("storage key collision")
    return stored


def open_file(key: str, *, alias: str = "documents") -> IO[bytes]:
    return _storage(alias).open(key, "rb")


def delete(key: str) -> None:
    _storage().delete(key)


def signed_url(key: str, *, filename: str, content_type: str, ttl: int | None = None,
               alias: str = "documents") -> str:
    """A URL that serves the file of storage `alias` as an attachment for `ttl` seconds (S3 presigned, or our
    signed view)."""
    ttl = int(ttl or settings.DOCUMENTS["URL_TTL_SECONDS"])
    storage = _storage(alias)
    disposition = f"attachment; filename=\"{filename}\""
    if _is_s3(storage):
        return storage.url(key, parameters={"ResponseContentDisposition": disposition,
                                            "ResponseContentType": content_type}, expire=ttl)
    expires = int(time.time()) + ttl
    grant = {"k": key, "f": filename, "t": content_type, "e": expires}
    if alias != "documents":
        grant["s"] = alias
    token = signing.dumps(grant, salt=_SALT, compress=True)
    return reverse("api-v1:document_file", kwargs={"token": token})


def read_signed_token(token: str) -> SignedFile | None:
    """The file a local signed URL grants, or None when the signature is wrong or the URL has expired."""
    try:
        data = signing.loads(token, salt=_SALT)
    except signing.BadSignature:
        return None
    if int(data.get("e", 0)) < time.time():
        return None
    return SignedFile(key=data["k"], filename=data["f"], content_type=data["t"], alias=data.get("s", "documents"))
