"""A stdlib fake of Onfleet's API v2 (tasks, workers) and its webhooks, speaking Onfleet's wire format.

    with FakeOnfleetServer() as fake:
        client = OnfleetClient(api_key=fake.api_key, api_base=fake.api_base, media_base=fake.media_base)

Basic auth with the API key, POST/GET/PUT/DELETE /api/v2/tasks, POST /tasks/metadata, GET /tasks/all (64 per
page, `lastId`), dependencies checked, completed tasks read-only, 20 requests/s with 429 + Retry-After,
targeted fault injection, and the driver's side (assign, start, complete, fail …) producing webhook
deliveries signed like Onfleet's (HMAC-SHA512 of the body, key = the hex-decoded secret).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass

from tests.fakes._http_fake import FakeHttpServer
from tests.fakes.onfleet_driver import OnfleetDriverMixin, now_ms, onfleet_id

_ERRORS = {400: ("InvalidContent", 1000), 401: ("InvalidCredentials", 1102), 404: ("ResourceNotFound", 1402),
           429: ("TooManyRequests", 2300), 500: ("InternalServerError", 2000), 503: ("ServiceUnavailable", 2500)}


def onfleet_error(status: int, message: str = "", cause: str = "") -> dict:
    code, number = _ERRORS.get(status, ("InternalServerError", 2000))
    return {"code": code, "message": {"error": number, "message": message or code, "cause": cause or None,
                                      "request": secrets.token_hex(8)}}


@dataclass
class _Rule:
    method: str
    path: str  # a prefix of the API path after /api/v2
    action: str  # "fail" (status), "hang" (seconds, then carried out), "throttle" (429, Retry-After)
    value: float
    remaining: int
    skip: int = 0  # let this many matching requests through first


class FakeOnfleetServer(OnfleetDriverMixin, FakeHttpServer):
    """Fake onfleet.com. Inspect `tasks`, `api_calls`, `webhooks`; drive tasks with assign/start/complete/…"""

    def __init__(self, *, api_key: str | None = None, rate_limit: int = 20, retry_after: int = 1) -> None:
        super().__init__()
        self.api_key = api_key or secrets.token_hex(16)
        self.webhook_secret = secrets.token_hex(32)  # hex, as Onfleet's dashboard shows it
        self.rate_limit = rate_limit
        self.retry_after = retry_after
        self.tasks: dict[str, dict] = {}
        self.deleted: set[str] = set()
        self.workers: dict[str, dict] = {}
        self.uploads: dict[str, bytes] = {}
        self.webhooks: list[tuple[bytes, str]] = []  # (body, X-Onfleet-Signature) in the order sent
        self.api_calls: list[tuple[str, str]] = []  # (method, path) of every authorised API request
        self.throttled = 0
        self._rules: list[_Rule] = []
        self._window: deque[float] = deque()

    @property
    def api_base(self) -> str:
        return f"{self.url}/api/v2"

    @property
    def media_base(self) -> str:
        return f"{self.url}/media"

    # fault injection -----------------------------------------------------------------------------
    def fail_on(self, method: str, path: str, *, status: int = 500, times: int = 1, skip: int = 0) -> None:
        """After `skip` of them, the next `times` requests to `method path…` answer `status`; nothing is done."""
        with self._lock:
            self._rules.append(_Rule(method, path, "fail", status, times, skip))

    def hang_on(self, method: str, path: str, *, seconds: float, times: int = 1, skip: int = 0) -> None:
        """The next `times` requests wait `seconds`, then are carried out anyway (a client timeout in between)."""
        with self._lock:
            self._rules.append(_Rule(method, path, "hang", seconds, times, skip))

    def throttle(self, times: int, *, retry_after: int | None = None) -> None:
        """The next `times` API requests answer 429 with Retry-After (a storm)."""
        with self._lock:
            self._rules.append(_Rule("", "", "throttle", self.retry_after if retry_after is None else retry_after,
                                     times))

    def wait_until(self, predicate, timeout: float = 10.0) -> bool:
        """Poll `predicate()` (e.g. a hung request has now been carried out) for up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def _take_rule(self, method: str, path: str) -> _Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.remaining > 0 and (not rule.method or rule.method == method) and (not rule.path or path == rule.path):
                    if rule.skip:
                        rule.skip -= 1
                        continue
                    rule.remaining -= 1
                    return rule
        return None

    def _over_rate(self) -> bool:
        if not self.rate_limit:
            return False
        now = time.monotonic()
        with self._lock:
            while self._window and self._window[0] <= now - 1.0:
                self._window.popleft()
            if len(self._window) >= self.rate_limit:
                return True
            self._window.append(now)
            return False

    # protocol ------------------------------------------------------------------------------------
    def is_api_request(self, method: str, path: str) -> bool:
        return path.startswith("/api/v2/")

    def error_payload(self, status: int) -> dict:
        return onfleet_error(status)

    def _authorized(self, handler) -> bool:
        header = handler.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, _password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return secrets.compare_digest(user, self.api_key)

    def handle(self, handler, method, path, body):
        split = urllib.parse.urlsplit(path)
        path, query = split.path, dict(urllib.parse.parse_qsl(split.query))
        if path.startswith("/media/") and method == "GET":
            upload_id = path.split("/")[2]
            data = self.uploads.get(upload_id)
            return (200, {"Content-Type": "image/png"}, data) if data else (404, {}, onfleet_error(404))
        if not self.is_api_request(method, path):
            return 404, {}, onfleet_error(404)
        if not self._authorized(handler):
            return 401, {}, onfleet_error(401, "Invalid API key")
        path = path[len("/api/v2"):]
        rule = self._take_rule(method, path)
        if rule and rule.action == "throttle" or self._over_rate():
            with self._lock:
                self.throttled += 1
            retry = int(rule.value) if rule and rule.action == "throttle" else self.retry_after
            return 429, {"Retry-After": str(retry)}, onfleet_error(429, "Rate limit exceeded")
        if rule and rule.action == "fail":
            return int(rule.value), {}, onfleet_error(int(rule.value))
        if rule and rule.action == "hang":
            self._stopping.wait(rule.value)
        with self._lock:
            self.api_calls.append((method, path))
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            return 400, {}, onfleet_error(400, "Body is not JSON")
        return self._route(method, path, query, payload)

    def _route(self, method, path, query, payload):
        parts = [p for p in path.split("/") if p]
        if parts == ["tasks"] and method == "POST":
            return self._create(payload or {})
        if parts == ["tasks", "metadata"] and method == "POST":
            return self._query_metadata(payload or [])
        if parts == ["tasks", "all"] and method == "GET":
            return self._list(query)
        if len(parts) == 2 and parts[0] == "workers" and method == "GET":
            worker = self.workers.get(parts[1])
            return (200, {}, worker) if worker else (404, {}, onfleet_error(404, "Worker not found"))
        if len(parts) == 2 and parts[0] == "tasks":
            with self._lock:
                task = self.tasks.get(parts[1])
            if task is None:
                return 404, {}, onfleet_error(404, "Task not found", parts[1])
            if method == "GET":
                return 200, {}, task
            if method == "PUT":
                return self._update(task, payload or {})
            if method == "DELETE":
                if task["state"] == 3:
                    return 400, {}, onfleet_error(400, "Completed tasks cannot be deleted")
                with self._lock:
                    del self.tasks[task["id"]]
                    self.deleted.add(task["id"])
                self._emit("taskDeleted", task)
                return 200, {}, None
        return 404, {}, onfleet_error(404)

    def _create(self, body: dict):
        address = ((body.get("destination") or {}).get("address") or {}).get("unparsed")
        if not address:
            return 400, {}, onfleet_error(400, "The values of one or more parameters are invalid.",
                                          "destination.address is required")
        after, before = body.get("completeAfter"), body.get("completeBefore")
        if after and before and after > before:
            return 400, {}, onfleet_error(400, "completeAfter must be before completeBefore")
        with self._lock:
            missing = [d for d in body.get("dependencies") or () if d not in self.tasks]
        if missing:
            return 400, {}, onfleet_error(400, "Invalid dependencies", f"unknown task {missing[0]}")
        now, task_id = now_ms(), onfleet_id()
        task = {
            "id": task_id, "timeCreated": now, "timeLastModified": now, "organization": "org~fake",
            "shortId": secrets.token_hex(4), "trackingURL": f"https://onf.lt/{secrets.token_hex(5)}",
            "worker": None, "merchant": "org~fake", "executor": "org~fake", "creator": "api~fake",
            "dependencies": list(body.get("dependencies") or ()), "state": 0,
            "completeAfter": after, "completeBefore": before, "pickupTask": bool(body.get("pickupTask")),
            "notes": body.get("notes", ""), "quantity": 0, "serviceTime": 0,
            "completionDetails": {"failureNotes": "", "failureReason": "NONE", "events": [], "actions": [],
                                  "time": None, "photoUploadId": None, "photoUploadIds": [],
                                  "signatureUploadId": None, "success": None, "notes": ""},
            "feedback": [], "metadata": [{**m, "visibility": ["api"]} for m in body.get("metadata") or ()],
            "overrides": {}, "container": {"type": "ORGANIZATION", "organization": "org~fake"},
            "recipients": [{"id": onfleet_id(), "name": r.get("name", ""), "phone": r.get("phone", ""), "notes": ""}
                           for r in body.get("recipients") or ()],
            "destination": {"id": onfleet_id(), "address": {"unparsed": address}, "location": [-73.96, 40.77],
                            "notes": ""},
            "estimatedArrivalTime": None, "estimatedCompletionTime": None, "delayTime": None,
        }
        with self._lock:
            self.tasks[task_id] = task
        self._emit("taskCreated", task)
        return 200, {}, task

    def _update(self, task: dict, body: dict):
        if task["state"] == 3 and set(body) - {"metadata", "customFields"}:
            return 400, {}, onfleet_error(400, "Completed tasks can only have metadata updated")
        if task["state"] == 2 and set(body) - {"notes", "metadata"}:
            return 400, {}, onfleet_error(400, "Active tasks can only have notes and metadata updated")
        with self._lock:
            for name in ("completeAfter", "completeBefore", "notes", "dependencies", "pickupTask"):
                if name in body:
                    task[name] = body[name]
            if "destination" in body:
                task["destination"]["address"] = dict((body["destination"] or {}).get("address") or {})
            if "recipients" in body:
                task["recipients"] = [{"id": onfleet_id(), "notes": "", **r} for r in body["recipients"]]
            if "metadata" in body:
                task["metadata"] = [{**m, "visibility": ["api"]} for m in body["metadata"]]
            task["timeLastModified"] = now_ms()
        self._emit("taskUpdated", task)
        return 200, {}, task

    def _query_metadata(self, query: list):
        wanted = [(q.get("name"), q.get("value")) for q in query]
        with self._lock:
            found = [t for t in self.tasks.values()
                     if all(any(m["name"] == n and m["value"] == v for m in t["metadata"]) for n, v in wanted)]
        return 200, {}, found

    def _list(self, query: dict):
        if "from" not in query:
            return 400, {}, onfleet_error(400, "from is required")
        start, end = int(query["from"]), int(query.get("to") or 2**62)
        with self._lock:
            tasks = sorted(self.tasks.values(), key=lambda t: (t["timeCreated"], t["id"]))
        tasks = [t for t in tasks if start <= ((t["completionDetails"]["time"] if t["state"] == 3 else None)
                                               or t["timeCreated"]) <= end]
        if query.get("lastId"):
            ids = [t["id"] for t in tasks]
            tasks = tasks[ids.index(query["lastId"]) + 1:] if query["lastId"] in ids else []
        page = tasks[:64]
        body = {"tasks": page}
        if len(tasks) > 64:
            body["lastId"] = page[-1]["id"]
        return 200, {}, body
