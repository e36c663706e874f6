"""Shared plumbing of the stdlib fake provider servers (Stripe, Postmark, Twilio): threading, fault injection,
quiet logging. One mechanism: a subclass only speaks its provider's wire format."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default of 5 makes 50 simultaneous connects stall on SYN retries

    def handle_error(self, request, client_address):
        # A client that timed out and hung up makes the late write fail; that is the point of hang_next.
        pass


@dataclass
class Hold:
    """A request the fake holds on to until the test releases it (see FakeHttpServer.hold_next)."""

    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def wait_until_arrived(self, timeout: float = 30) -> None:
        if not self.arrived.wait(timeout):
            raise AssertionError("the held request never arrived at the fake")

    def release(self) -> None:
        self.released.set()


@dataclass
class Fault:
    """What the fake does instead of (or before) answering one request."""

    kind: str  # "fail" (answer `status`, 0: drop the connection), "hang", "hold", "lose_answer"
    status: int = 0
    seconds: float = 0.0
    hold: Hold | None = None
    details: dict = field(default_factory=dict)


class FakeHttpServer:
    """A provider fake on 127.0.0.1 and a random port, served from a background thread.

    Subclasses implement `handle(handler, method, path, body) -> (status, headers, payload)` (payload: a JSON
    value, or bytes sent as they are) and `error_payload(status) -> dict` for injected failures; they may
    override `record` (every request, faulted ones included) and `fault_response`.
    """

    protocol_version = "HTTP/1.1"

    def __init__(self) -> None:
        # Re-entrant: a subclass may keep its own state under the same lock and call back into this class.
        self._lock = threading.RLock()
        self._faults: deque[Fault] = deque()
        self._holds: list[Hold] = []
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
            protocol_version = fake.protocol_version
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
        with self._lock:
            for hold in self._holds:
                hold.release()
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
    def fail_next(self, n: int = 1, status: int = 500, **details) -> None:
        """The next `n` API requests answer `status` with the provider's error body; nothing is done.

        `status=0` drops the connection without an answer. `details` reach `fault_response`.
        """
        with self._lock:
            self._faults.extend(Fault("fail", status=status, details=details) for _ in range(n))

    def clear_faults(self) -> None:
        """The provider is back: faults not yet used up are dropped."""
        with self._lock:
            self._faults.clear()

    def hang_next(self, n: int = 1, seconds: float = 5.0) -> None:
        """The next `n` API requests wait `seconds` before being processed normally.

        Like the real provider, a request the client gave up on is still carried out (the message is
        recorded), so tests can exercise "timed out but actually sent".
        """
        with self._lock:
            self._faults.extend(Fault("hang", seconds=seconds) for _ in range(n))

    def hold_next(self) -> Hold:
        """The next API request waits, after arriving, until the test calls `release()` on the returned Hold.

        For "what happens meanwhile" tests without timing: `hold.wait_until_arrived()`, act, `hold.release()`.
        """
        hold = Hold()
        with self._lock:
            self._holds.append(hold)
            self._faults.append(Fault("hold", hold=hold))
        return hold

    def lose_answer_next(self, n: int = 1) -> None:
        """The next `n` API requests are carried out, then the connection drops before the answer."""
        with self._lock:
            self._faults.extend(Fault("lose_answer") for _ in range(n))

    def _take_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    # dispatch ------------------------------------------------------------------------------------
    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str, body: bytes) -> None:
        self.record(handler, method, body)
        fault = self._take_fault() if self.is_api_request(method, handler.path) else None
        if fault is not None and fault.kind == "hang":
            self._stopping.wait(fault.seconds)
        elif fault is not None and fault.kind == "hold":
            fault.hold.arrived.set()
            fault.hold.released.wait()
        elif fault is not None and fault.kind == "fail":
            if fault.status == 0:
                handler.close_connection = True
                return
            self._respond(handler, *self.fault_response(handler, method, body, fault))
            return
        status, headers, payload = self.handle(handler, method, handler.path, body)
        if fault is not None and fault.kind == "lose_answer":
            handler.close_connection = True
            return
        self._respond(handler, status, headers, payload)

    def record(self, handler: BaseHTTPRequestHandler, method: str, body: bytes) -> None:
        with self._lock:
            self.requests.append({"method": method, "path": handler.path, "headers": dict(handler.headers),
                                  "body": body})

    def fault_response(self, handler, method: str, body: bytes, fault: Fault):
        return fault.status, {}, self.error_payload(fault.status)

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
