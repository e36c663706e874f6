"""A small typed Onfleet client on `requests` (FIELD_NOTES: pyonfleet keeps its key and base URL global).

No ORM here: plain arguments in, `OnfleetTask` dataclasses or one of this module's exceptions out.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

DEFAULT_API_BASE = "https://onfleet.com/api/v2"
DEFAULT_MEDIA_BASE = "https://d15p8tr8p0vffz.cloudfront.net"  # where completion photos/signatures are served
DEFAULT_TIMEOUT = (5.0, 20.0)  # connect, read (Onfleet's own internal timeout is 70 s)
# Onfleet allows 20 requests/s per organisation (FIELD_NOTES); pacing a little under it keeps bursts from
# thread scheduling off its 429s.
RATE_LIMIT_PER_SECOND = 18
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
TASK_STATES = {0: "unassigned", 1: "assigned", 2: "active", 3: "completed"}


class OnfleetError(Exception):
    """Base of every error this module raises."""


class OnfleetNotConfigured(OnfleetError):
    """ONFLEET_API_KEY is missing."""


class OnfleetUnavailable(OnfleetError):
    """Network error, timeout, 5xx, or 429 after our retries: try again later.

    `maybe_done` is True when the request may have reached Onfleet (a read timeout): a create must then be
    looked up by metadata before it is repeated.
    """

    def __init__(self, message: str, *, status: int | None = None, maybe_done: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.maybe_done = maybe_done


class OnfleetRejected(OnfleetError):
    """Onfleet refused the request (4xx other than 429); the same request will fail again."""

    def __init__(self, message: str, *, status: int, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code

    @property
    def not_found(self) -> bool:
        return self.status == 404


def to_ms(value: dt.datetime) -> int:
    return int(value.timestamp() * 1000)


def from_ms(value: int | float | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC) if value else None


@dataclass(frozen=True, slots=True)
class OnfleetTask:
    id: str
    short_id: str
    state: int
    tracking_url: str
    complete_after: dt.datetime | None
    complete_before: dt.datetime | None
    pickup_task: bool
    dependencies: tuple[str, ...]
    metadata: dict[str, Any]
    worker_id: str
    eta: dt.datetime | None
    completion: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def state_name(self) -> str:
        return TASK_STATES.get(self.state, "unknown")

    @property
    def success(self) -> bool | None:
        return self.completion.get("success") if self.state == 3 else None


def parse_task(data: dict) -> OnfleetTask:
    """Onfleet's task JSON (as the API and webhooks send it) as an OnfleetTask."""
    worker = data.get("worker")
    return OnfleetTask(
        id=str(data.get("id", "")),
        short_id=str(data.get("shortId", "") or ""),
        state=int(data.get("state") or 0),
        tracking_url=str(data.get("trackingURL", "") or ""),
        complete_after=from_ms(data.get("completeAfter")),
        complete_before=from_ms(data.get("completeBefore")),
        pickup_task=bool(data.get("pickupTask")),
        dependencies=tuple(data.get("dependencies") or ()),
        metadata={m.get("name"): m.get("value") for m in data.get("metadata") or () if isinstance(m, dict)},
        worker_id=(worker.get("id", "") if isinstance(worker, dict) else str(worker or "")),
        eta=from_ms(data.get("estimatedArrivalTime") or data.get("estimatedCompletionTime")),
        completion=dict(data.get("completionDetails") or {}),
        raw=data,
    )


def metadata_entries(values: dict[str, str]) -> list[dict]:
    return [{"name": name, "type": "string", "value": value} for name, value in values.items()]


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """What we ask Onfleet to do for one leg."""

    address: str
    recipient_name: str
    recipient_phone: str
    notes: str
    complete_after: dt.datetime
    complete_before: dt.datetime
    pickup_task: bool
    metadata: dict[str, str]
    dependencies: tuple[str, ...] = ()

    def body(self) -> dict:
        body: dict[str, Any] = {
            "destination": {"address": {"unparsed": self.address}},
            "recipients": [{"name": self.recipient_name, "phone": self.recipient_phone}]
            if self.recipient_phone else [],
            "notes": self.notes,
            "completeAfter": to_ms(self.complete_after),
            "completeBefore": to_ms(self.complete_before),
            "pickupTask": self.pickup_task,
            "metadata": metadata_entries(self.metadata),
        }
        if self.dependencies:
            body["dependencies"] = list(self.dependencies)
        return body


class _Pacer:
    """Spaces requests at most `rate` per second from this process (Onfleet's limit is per organisation)."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            time.sleep(slot - now)


def _session(api_key: str, retry: Retry) -> requests.Session:
    session = requests.Session()
    session.auth = (api_key, "")  # basic auth: the key as user name, no password
    adapter = HTTPAdapter(max_retries=retry, pool_maxsize=16)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class OnfleetClient:
    """One organisation's Onfleet access; safe to share between threads."""

    def __init__(self, *, api_key: str, api_base: str | None = None, media_base: str | None = None,
                 timeout: tuple[float, float] = DEFAULT_TIMEOUT, max_retries: int = 6,
                 backoff_factor: float = 0.5, rate_per_second: float = RATE_LIMIT_PER_SECOND) -> None:
        if not api_key:
            raise OnfleetNotConfigured("ONFLEET_API_KEY is required")
        self.api_base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.media_base = (media_base or DEFAULT_MEDIA_BASE).rstrip("/")
        self.timeout = timeout
        self._pacer = _Pacer(rate_per_second)
        common = dict(total=max_retries, backoff_factor=backoff_factor, backoff_max=20,
                      status_forcelist=_RETRY_STATUSES, respect_retry_after_header=True, raise_on_status=False)
        # Reads, updates and deletes are safe to repeat after a 5xx or a timeout.
        self._session = _session(api_key, Retry(
            allowed_methods=frozenset({"GET", "PUT", "DELETE", "POST"}), **common))
        # Creating a task has no idempotency key: repeat it only when Onfleet surely did nothing (refused
        # connection, 429). A 5xx or a read timeout goes back to the caller, who looks the task up first.
        self._create_session = _session(api_key, Retry(
            allowed_methods=frozenset({"POST"}), read=0, other=0, **{**common, "status_forcelist": {429}}))

    # --- tasks -------------------------------------------------------------------------------------------
    def create_task(self, spec: TaskSpec) -> OnfleetTask:
        return parse_task(self._request("POST", "/tasks", json=spec.body(), session=self._create_session))

    def get_task(self, task_id: str) -> OnfleetTask:
        return parse_task(self._request("GET", f"/tasks/{task_id}"))

    def update_task(self, task_id: str, changes: dict) -> OnfleetTask:
        return parse_task(self._request("PUT", f"/tasks/{task_id}", json=changes))

    def delete_task(self, task_id: str) -> None:
        self._request("DELETE", f"/tasks/{task_id}")

    def find_tasks(self, metadata: dict[str, str]) -> list[OnfleetTask]:
        """Tasks carrying all of these metadata entries (POST /tasks/metadata is a query: safe to repeat)."""
        return [parse_task(t) for t in self._request("POST", "/tasks/metadata", json=metadata_entries(metadata))]

    def list_tasks(self, *, since: dt.datetime, until: dt.datetime | None = None) -> list[OnfleetTask]:
        """Every task created (completed: completed) in the range, following `lastId` pages of up to 64."""
        params: dict[str, Any] = {"from": to_ms(since)}
        if until is not None:
            params["to"] = to_ms(until)
        tasks: list[OnfleetTask] = []
        while True:
            page = self._request("GET", "/tasks/all", params=params)
            tasks += [parse_task(t) for t in page.get("tasks") or ()]
            if not page.get("lastId"):
                return tasks
            params["lastId"] = page["lastId"]

    def get_worker(self, worker_id: str) -> dict:
        return self._request("GET", f"/workers/{worker_id}")

    def download_upload(self, upload_id: str, *, variant: str = "800x.png") -> tuple[bytes, str]:
        """A completion photo or signature: (bytes, content type)."""
        try:
            response = self._session.get(f"{self.media_base}/{upload_id}/{variant}", timeout=self.timeout,
                                         auth=None)
        except requests.RequestException as exc:
            raise OnfleetUnavailable(f"Onfleet media unreachable: {exc}") from exc
        if response.status_code >= 400:
            raise self._error(response)
        return response.content, response.headers.get("Content-Type", "application/octet-stream")

    # --- plumbing ------------------------------------------------------------------------------------------
    def _request(self, method: str, path: str, *, session: requests.Session | None = None, **kwargs) -> Any:
        self._pacer.wait()
        try:
            response = (session or self._session).request(method, f"{self.api_base}{path}",
                                                          timeout=self.timeout, **kwargs)
        except requests.ConnectTimeout as exc:
            raise OnfleetUnavailable(f"Onfleet unreachable: {exc}") from exc
        except requests.exceptions.RetryError as exc:
            raise OnfleetUnavailable(f"Onfleet kept refusing: {exc}", status=429, maybe_done=False) from exc
        except requests.RequestException as exc:
            # A read timeout or a dropped connection: the request may have been carried out.
            raise OnfleetUnavailable(f"Onfleet did not answer: {exc}", maybe_done=True) from exc
        if response.status_code >= 400:
            raise self._error(response)
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError as exc:
            raise OnfleetUnavailable(f"unreadable Onfleet response: {exc}", maybe_done=True) from exc

    @staticmethod
    def _error(response: requests.Response) -> OnfleetError:
        code, message = "", response.reason or "error"
        try:
            body = response.json()
        except ValueError:
            body = {}
        if isinstance(body, dict):
            code = str(body.get("code", ""))
            detail = body.get("message")
            if isinstance(detail, dict):
                message = detail.get("message") or message
                if detail.get("cause"):
                    message = f"{message} ({detail['cause']})"
            elif detail:
                message = str(detail)
        text = f"Onfleet HTTP {response.status_code}" + (f" {code}" if code else "") + f": {message}"
        if response.status_code in _RETRY_STATUSES:
            return OnfleetUnavailable(text, status=response.status_code, maybe_done=response.status_code >= 500)
        return OnfleetRejected(text, status=response.status_code, code=code)
