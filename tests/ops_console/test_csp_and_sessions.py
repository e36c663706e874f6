"""Content-Security-Policy on console and API responses; idle console sessions expire."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

pytestmark = pytest.mark.django_db


def _directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


@pytest.mark.parametrize("url", ["/admin/", "/api/v1/health/"])
def test_console_and_api_answer_with_the_policy(role_client, url):
    client = role_client("admin")
    policy = _directives(client.get(url))
    assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'", "'unsafe-eval'"]  # no inline scripts, ever
    assert policy["frame-ancestors"] == ["'self'"] and policy["base-uri"] == ["'none'"]


def test_an_idle_console_session_expires_and_an_active_one_does_not(role_client, settings):
    client = role_client("operations")
    idle = dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    start = timezone.now()
    with time_machine.travel(start + idle * 0.8, tick=False):
        assert client.get("/admin/").status_code == 200  # activity pushes the expiry ahead
    with time_machine.travel(start + idle * 1.6, tick=False):
        assert client.get("/admin/").status_code == 200
    with time_machine.travel(start + idle * 2.7, tick=False):
        response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
