"""GET /api/v1/health/ready/: each dependency check, and 503 naming the ones that fail."""

import socket
import time

import pytest
from django.db import OperationalError, connection
from django.test import override_settings
from huey.contrib.djhuey import HUEY

from core.common.jobs import stamped_id
from core.payments.tasks import sweep_payments

pytestmark = pytest.mark.django_db
READY = "/api/v1/health/ready/"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket closes


@pytest.fixture
def queue():
    HUEY.flush()
    yield HUEY
    HUEY.flush()


def _enqueue_raw(huey, *, age_seconds: float) -> None:
    """Put a job on the queue as a web process would have `age_seconds` ago (immediate mode runs, not queues)."""
    task = sweep_payments.s()
    task.id = stamped_id(now=time.time() - age_seconds, request_id="0123456789abcdef")
    huey.storage.enqueue(huey.serialize_task(task), task.priority)


def test_ready_when_everything_answers(client, queue, settings):
    settings.REDIS_URL = ""
    response = client.get(READY)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "skipped", "storage": "ok",
                                                          "queue": "ok"}}


def test_redis_down_is_503_naming_redis(client, queue, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    response = client.get(READY)
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "not_ready" and list(error["fields"]) == ["redis"]
    assert "Redis" in error["fields"]["redis"][0]


def test_unwritable_media_folder_is_503_naming_storage(client, queue, settings, tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with override_settings(STORAGES={**settings.STORAGES, "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(not_a_folder / "media")}}}):
        response = client.get(READY)
    assert response.status_code == 503
    assert list(response.json()["error"]["fields"]) == ["storage"]


def test_a_job_waiting_past_the_threshold_is_503_naming_queue(client, queue, settings):
    settings.REDIS_URL = ""
    settings.HEALTH_QUEUE_MAX_WAIT_SECONDS = 60
    _enqueue_raw(queue, age_seconds=5)
    assert client.get(READY).status_code == 200  # a fresh backlog is fine

    _enqueue_raw(queue, age_seconds=600)
    response = client.get(READY)

    assert response.status_code == 503
    error = response.json()["error"]
    assert list(error["fields"]) == ["queue"] and "limit 60 s" in error["fields"]["queue"][0]


def test_database_down_is_503_naming_database(client, queue, settings, monkeypatch):
    settings.REDIS_URL = ""

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get(READY)
    assert response.status_code == 503
    assert list(response.json()["error"]["fields"]) == ["database"]
