"""Shared plumbing of the stdlib fake provider servers: threading, fault injection, quiet logging."""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A client that timed out and hung up makes the late write fail; that is the point of hang_next.
        pass


class FakeHttpServer:
    """A provider fake on 127.0.0.1 and a random port, served from a background thread.

    Subclasses implement `handle(handler, method, path, body) -> (status, headers, payload)` and
    `error_payload(status) -> dict` for injected failures.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: deque[tuple[str, float]] = deque()
        self._stopping = threading.Event()
        self._server: _QuietServer | None = None
        self._thread: threading.Thread | None = None
        self.requests: list[dict] = []

    # lifecycle -----------------------------------------------------------------------------------
    def start(self):
        if self._server is not None:
            return self
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 30  # idle keep-alive connections don't pin a thread forever

            def log_message(self, format, *args):  # noqa: A002 - stdlib signature
                pass

            def _serve(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fake._dispatch(self, method, body)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def do_DELETE(self):
                self._serve("DELETE")

            def do_PUT(self):
                self._serve("PUT")

        self._stopping.clear()
        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, name=type(self).__name__,
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # releases hung handlers at once
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. http://127.0.0.1:53121."""
        return f"http://127.0.0.1:{self.port}"

    # fault injection -----------------------------------------------------------------------------
    def fail_next(self, n: int = 1, status: int = 500) -> None:
        """The next `n` API requests answer `status` with the provider's error body; nothing is sent."""
        with self._lock:
            self._faults.extend([("fail", float(status))] * n)

    def hang_next(self, n: int = 1, seconds: float = 5.0) -> None:
        """The next `n` API requests wait `seconds` before being processed normally.

        Like the real provider, a request the client gave up on is still carried out (the message is
        recorded), so tests can exercise "timed out but actually sent".
        """
        with self._lock:
            self._faults.extend([("hang", float(seconds))] * n)

    def _take_fault(self) -> tuple[str, float] | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    # dispatch ------------------------------------------------------------------------------------
    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str, body: bytes) -> None:
        with self._lock:
            self.requests.append({"method": method, "path": handler.path, "headers": dict(handler.headers),
                                  "body": body})
        if self.is_api_request(method, handler.path):
            fault = self._take_fault()
            if fault and fault[0] == "hang":
                self._stopping.wait(fault[1])
            elif fault and fault[0] == "fail":
                status = int(fault[1])
                self._respond(handler, status, {}, self.error_payload(status))
                return
        status, headers, payload = self.handle(handler, method, handler.path, body)
        self._respond(handler, status, headers, payload)

    def is_api_request(self, method: str, path: str) -> bool:
        return True

    def handle(self, handler, method: str, path: str, body: bytes):
        raise NotImplementedError

    def error_payload(self, status: int) -> dict:
        raise NotImplementedError

    @staticmethod
    def _respond(handler: BaseHTTPRequestHandler, status: int, headers: dict, payload) -> None:
        # bytes are sent as they are (e.g. an image, with its Content-Type in `headers`); anything else as JSON
        data = payload if isinstance(payload, bytes) else b"" if payload is None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", **headers}
        try:
            handler.send_response(status)
            handler.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
