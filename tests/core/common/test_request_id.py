"""Request ids: response header, JSON log lines, and the Huey jobs a request enqueues."""

import json
import logging

import pytest
from django.conf import settings

from core.common.jobs import TotetaxiSqliteHuey, parse_stamp
from core.common.request_id import REQUEST_ID_HEADER, bound_request_id, current_request_id


@pytest.mark.django_db
def test_every_response_names_its_request_id(client):
    first = client.get("/api/v1/health/")[REQUEST_ID_HEADER]
    second = client.get("/api/v1/health/")[REQUEST_ID_HEADER]
    assert len(first) == 32 and first != second


@pytest.mark.django_db
def test_a_proxy_request_id_is_kept_and_junk_is_replaced(client):
    kept = client.get("/api/v1/health/", HTTP_X_REQUEST_ID="fly-0123456789abcdef")
    assert kept[REQUEST_ID_HEADER] == "fly-0123456789abcdef"
    junk = client.get("/api/v1/health/", HTTP_X_REQUEST_ID="<script>\nforged log line")
    assert junk[REQUEST_ID_HEADER] != "<script>\nforged log line" and len(junk[REQUEST_ID_HEADER]) == 32


def _format_with_project_logging(record: logging.LogRecord) -> dict:
    import logging.config

    logging.config.dictConfig(settings.LOGGING)
    (handler,) = logging.getLogger().handlers
    for f in handler.filters:
        f.filter(record)
    return json.loads(handler.format(record))


def test_json_log_lines_carry_the_request_id():
    record = logging.LogRecord("core.test", logging.INFO, __file__, 1, "booked", None, None)
    with bound_request_id("abcdef0123456789"):
        line = _format_with_project_logging(record)
    assert line["request_id"] == "abcdef0123456789" and line["message"] == "booked" and line["level"] == "INFO"


@pytest.mark.django_db
def test_django_request_log_lines_carry_the_request_id(client, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/api/v1/no-such-thing/")
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    line = _format_with_project_logging(record)
    assert line["request_id"] == response[REQUEST_ID_HEADER] and line["status_code"] == 404


def test_a_job_runs_under_the_request_id_that_enqueued_it(tmp_path):
    huey = TotetaxiSqliteHuey("request-id-test", filename=str(tmp_path / "huey.db"), immediate=False)
    seen = []

    @huey.task()
    def remember():
        seen.append(current_request_id())

    with bound_request_id("feedface12345678"):
        remember()
    assert current_request_id() == ""  # the consumer's thread starts without one

    task = huey.dequeue()
    assert parse_stamp(task.id).request_id == "feedface12345678"
    huey.execute(task)

    assert seen == ["feedface12345678"]
    assert current_request_id() == ""
