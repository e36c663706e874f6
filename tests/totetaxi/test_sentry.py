"""Sentry, when SENTRY_DSN is set: Django and Huey errors reach the ingest endpoint, scrubbed."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.sentry_server import FakeSentry

ROOT = Path(__file__).resolve().parents[2]
SECRETS = ["alex.morgan@example.com", "alex.morgan%40example.com", "tok_secret123", "bk_secret_456",
           "sk_live_789", "4242 4242 4242 4242", "4242424242424242", "whsec_abc"]
SCRIPT = """
import _thread, urllib.error, urllib.request
from wsgiref.simple_server import WSGIRequestHandler, make_server
import django, sentry_sdk
django.setup()
from django.core.wsgi import get_wsgi_application
from django.test.utils import override_settings
WSGIRequestHandler.log_message = lambda *a: None
with override_settings(ROOT_URLCONF="tests.totetaxi.sentry_app"):
    server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=WSGIRequestHandler)
    _thread.start_new_thread(server.serve_forever, ())  # the server under test, not a race
    request = urllib.request.Request(
        f"http://testserver:{server.server_port}/boom/?email=alex.morgan%40example.com&token=tok_secret123",
        headers={"X-Booking-Token": "bk_secret_456", "Authorization": "Bearer sk_live_789",
                 "Stripe-Signature": "t=1,v1=whsec_abc"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request.host = f"127.0.0.1:{server.server_port}"
    request.add_header("Host", "testserver")
    try:
        opener.open(request, timeout=10)
    except urllib.error.HTTPError as exc:
        print(f"STATUS={exc.code}")
    server.shutdown()
from tests.totetaxi.sentry_app import failing_job
try:
    failing_job("4242424242424242", "alex.morgan@example.com")
except Exception:
    pass
sentry_sdk.flush(10)
"""


@pytest.fixture
def fake_sentry():
    with FakeSentry() as server:
        yield server


def _run(fake_sentry, tmp_path, **env):
    base = {k: v for k, v in os.environ.items() if k not in {"DJANGO_ALLOW_ASYNC_UNSAFE", "DEBUG"}}
    base.update({"DJANGO_SETTINGS_MODULE": "totetaxi.settings", "TOTETAXI_TESTING": "1",
                 "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "REDIS_URL": "",
                 "HUEY_SQLITE_PATH": str(tmp_path / "huey.db"), "ENVIRONMENT": "staging", "ALLOWED_HOSTS": "testserver",
                 "LOG_LEVEL": "CRITICAL", **env})
    return subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=base, capture_output=True, text=True,
                          timeout=60)


def test_django_and_huey_errors_reach_sentry_scrubbed(fake_sentry, tmp_path):
    result = _run(fake_sentry, tmp_path, SENTRY_DSN=fake_sentry.dsn(), SENTRY_RELEASE="totetaxi@1.2.3")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "STATUS=500" in result.stdout.splitlines()

    events = fake_sentry.events()
    by_type = {e["exception"]["values"][-1]["type"]: e for e in events}
    assert set(by_type) == {"ValueError", "RuntimeError"}
    web, job = by_type["ValueError"], by_type["RuntimeError"]
    assert web["release"] == job["release"] == "totetaxi@1.2.3" and web["environment"] == "staging"
    assert web["request"]["url"].endswith("/boom/")
    assert web["request"]["headers"]["X-Booking-Token"] == "[Filtered]"
    assert "failing_job" in json.dumps(job)  # the Huey integration names the task
    everything = json.dumps(events)
    leaked = [s for s in SECRETS if s in everything]
    assert leaked == [], everything[:4000]


def test_nothing_is_sent_without_a_dsn(fake_sentry, tmp_path):
    result = _run(fake_sentry, tmp_path, SENTRY_DSN="")
    assert result.returncode == 0, result.stderr[-3000:]
    assert fake_sentry.requests == []
