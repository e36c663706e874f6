"""The driver's side of the fake Onfleet: moves that change a task and send Onfleet's signed webhook.

Mixed into FakeOnfleetServer (tests/fakes/onfleet_server.py), which owns `tasks`, `workers`, `uploads`,
`webhooks`, `webhook_secret` and `_lock`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

TRIGGERS = {"taskStarted": 0, "taskEta": 1, "taskArrival": 2, "taskCompleted": 3, "taskFailed": 4,
            "taskCreated": 6, "taskUpdated": 7, "taskDeleted": 8, "taskAssigned": 9, "taskUnassigned": 10,
            "taskDelayed": 12}
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def onfleet_id() -> str:
    return base64.b64encode(secrets.token_bytes(18), altchars=b"~*").decode()


def now_ms() -> int:
    return int(time.time() * 1000)


class OnfleetDriverMixin:
    """assign, unassign, start_task, eta, arrive, delay, complete, fail: each records the delivery in `webhooks`."""

    def add_worker(self, name: str = "Maria Lopez", phone: str = "+16315550199") -> str:
        worker_id = onfleet_id()
        self.workers[worker_id] = {"id": worker_id, "name": name, "phone": phone, "onDuty": True,
                                   "activeTask": None, "tasks": []}
        return worker_id

    def assign(self, task_id: str, worker_id: str) -> None:
        self._move(task_id, "taskAssigned", state=1, worker=worker_id)

    def unassign(self, task_id: str) -> None:
        self._move(task_id, "taskUnassigned", state=0, worker=None)

    def start_task(self, task_id: str, *, eta_seconds: int = 1200) -> None:
        self._move(task_id, "taskStarted", state=2, estimatedArrivalTime=now_ms() + eta_seconds * 1000)

    def eta(self, task_id: str, seconds: int = 300) -> None:
        self._move(task_id, "taskEta", extra={"etaSeconds": seconds},
                   estimatedArrivalTime=now_ms() + seconds * 1000)

    def arrive(self, task_id: str, distance: int = 50) -> None:
        self._move(task_id, "taskArrival", extra={"distance": distance})

    def delay(self, task_id: str, seconds: int = 900) -> None:
        self._move(task_id, "taskDelayed", delayTime=seconds, estimatedArrivalTime=now_ms() + seconds * 1000)

    def complete(self, task_id: str, *, photos: int = 1, signature: bool = True, notes: str = "") -> None:
        photo_ids = [self._upload() for _ in range(photos)]
        details = {"success": True, "time": now_ms(), "notes": notes, "photoUploadIds": photo_ids,
                   "photoUploadId": photo_ids[0] if photo_ids else None,
                   "signatureUploadId": self._upload() if signature else None}
        self._move(task_id, "taskCompleted", state=3, completion=details)

    def fail(self, task_id: str, *, reason: str = "NO_ANSWER", notes: str = "Nobody at the door") -> None:
        self._move(task_id, "taskFailed", state=3, completion={"success": False, "time": now_ms(),
                                                               "failureReason": reason, "failureNotes": notes})

    def _upload(self) -> str:
        upload_id = onfleet_id().replace("~", "a").replace("*", "b")
        self.uploads[upload_id] = PNG + secrets.token_bytes(8)  # distinct bytes: distinct digests
        return upload_id

    def _move(self, task_id: str, trigger: str, *, state: int | None = None, worker="unchanged",
              completion: dict | None = None, extra: dict | None = None, **fields) -> None:
        with self._lock:
            task = self.tasks[task_id]
            if state is not None:
                task["state"] = state
            if worker != "unchanged":
                task["worker"] = worker
            if completion:
                task["completionDetails"].update(completion)
            task.update(fields)
            task["timeLastModified"] = now_ms()
        self._emit(trigger, task, extra or {})

    def webhook(self, trigger: str, task: dict, extra: dict | None = None, *, secret: str | None = None
                ) -> tuple[bytes, str]:
        """An Onfleet delivery for `trigger` about `task`: (raw body, X-Onfleet-Signature)."""
        worker = self.workers.get(task.get("worker") or "")
        payload = {"taskId": task["id"], "time": now_ms(), "triggerId": TRIGGERS[trigger], "triggerName": trigger,
                   "workerId": task.get("worker"), "adminId": None, "actionContext": {"type": "WORKER"},
                   "data": {"task": json.loads(json.dumps(task))}, **(extra or {})}
        if worker:
            payload["data"]["worker"] = {"id": worker["id"], "name": worker["name"], "phone": worker["phone"]}
        body = json.dumps(payload, separators=(",", ":")).encode()
        key = bytes.fromhex(secret or self.webhook_secret)
        return body, hmac.new(key, body, hashlib.sha512).hexdigest()

    def _emit(self, trigger: str, task: dict, extra: dict | None = None) -> None:
        delivery = self.webhook(trigger, task, extra)
        with self._lock:
            self.webhooks.append(delivery)
        time.sleep(0.002)  # Onfleet's times are milliseconds: two moves never share one


