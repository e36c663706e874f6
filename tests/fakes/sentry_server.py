"""A fake Sentry ingest endpoint: accepts envelopes at /api/<project>/envelope/ and keeps their items.

The envelope format (develop.sentry.dev/sdk/envelopes/): a JSON header line, then per item a JSON item
header line and its payload; the SDK gzips the request body (Content-Encoding: gzip).
"""

from __future__ import annotations

import gzip
import json
import re
import zlib

from tests.fakes._http_fake import FakeHttpServer

ENVELOPE_PATH = re.compile(r"^/api/(\d+)/envelope/")
PUBLIC_KEY = "fakepublickey"


def parse_envelope(raw: bytes) -> list[tuple[dict, bytes]]:
    lines = raw.split(b"\n")
    items, i = [], 1  # line 0 is the envelope header
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        header = json.loads(lines[i])
        length = header.get("length")
        if length is None:
            payload = lines[i + 1] if i + 1 < len(lines) else b""
            i += 2
        else:
            rest = b"\n".join(lines[i + 1:])
            payload = rest[:length]
            remaining = rest[length:].lstrip(b"\n")
            lines = [b"", *remaining.split(b"\n")]
            i = 1
        items.append((header, payload))
    return items


class FakeSentry(FakeHttpServer):
    def dsn(self, project: int = 1) -> str:
        return f"http://{PUBLIC_KEY}@127.0.0.1:{self.port}/{project}"

    def handle(self, handler, method, path, body):
        if method != "POST" or not ENVELOPE_PATH.match(path):
            return 404, {}, {"detail": "not found"}
        auth = handler.headers.get("X-Sentry-Auth", "")
        if f"sentry_key={PUBLIC_KEY}" not in auth:
            return 401, {}, {"detail": "bad key"}
        encoding = handler.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        with self._lock:
            self.envelopes.append(parse_envelope(body))
        return 200, {}, {"id": "0" * 32}

    def error_payload(self, status):
        return {"detail": "injected failure"}

    def start(self):
        self.envelopes: list[list[tuple[dict, bytes]]] = []
        return super().start()

    def events(self) -> list[dict]:
        with self._lock:
            return [json.loads(payload) for envelope in self.envelopes for header, payload in envelope
                    if header.get("type") == "event"]
