"""A scheduled report's emailed links: no login, signed, expiring (REPORTS_LINK_MAX_AGE), every download recorded.

The link is taken from the email itself (Django's mail outbox, as the notifications area sent it) and followed
with a client that never logged in: to the signed local file view, or to an S3 presigned URL on a moto server.
"""

import csv
import datetime as dt
import io
import time
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.core import mail

from core.reporting.models import Report, ReportDownload
from core.reporting.reports.services import report_schedules_run_due
from tests.core.reporting.data import ny
from tests.ops_console.conftest import make_role_user

pytest_plugins = ["tests.fakes.documents_fixtures"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def emailed(ledger, django_capture_on_commit_callbacks):
    """A monthly revenue schedule caught up in mid-June (the May report), and the CSV link of its email."""
    from core.reporting.reports.services import report_schedule_create

    report_schedule_create(name="Month end", report_type="revenue", grouping="day", parameters={"basis": "cash"},
                           frequency="monthly", recipients=["finance@totetaxi.test"],
                           actor=make_role_user("finance"), now=ny(2026, 3, 10, 12))
    with django_capture_on_commit_callbacks(execute=True):
        (report_id,) = report_schedules_run_due(now=ny(2026, 6, 15, 12))
    (message,) = [m for m in mail.outbox if m.subject.startswith("Report ready")]
    links = dict(line.split(": ", 1) for line in message.body.splitlines() if line[:5] in ("CSV: ", "XLSX:"))
    return Report.objects.get(pk=report_id), links, message


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_the_emailed_link_downloads_the_csv_without_a_login_and_is_recorded(emailed, client):
    report, links, message = emailed
    assert links["CSV"].startswith("http://localhost:8000/api/v1/reports/files/")
    assert "without a login for 7 days" in message.body

    response = client.get(_path(links["CSV"]), HTTP_USER_AGENT="Mail client", REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 302 and response["Cache-Control"] == "private, no-store"
    assert response["Location"].startswith("/api/v1/documents/files/")  # the signed local file view, 5 minutes
    file = client.get(response["Location"])
    assert file.status_code == 200 and file["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(file.streaming_content)
    assert body == report.csv_file.open("rb").read()
    assert list(csv.reader(io.StringIO(body.decode())))[0][0] == "Revenue (cash basis)"
    (download,) = ReportDownload.objects.all()
    assert (download.report, download.file_format, download.via, download.actor, download.ip_address,
            download.user_agent) == (report, "csv", "email_link", None, "203.0.113.9", "Mail client")
    client.get(_path(links["XLSX"]))
    assert list(ReportDownload.objects.order_by("id").values_list("file_format", flat=True)) == ["csv", "xlsx"]


def test_a_tampered_link_is_refused_and_records_nothing(emailed, client):
    _report, links, _message = emailed
    path = _path(links["CSV"]).rstrip("/")
    for bad in (path[:-3] + "abc/", path.replace("/files/", "/files/x") + "/"):
        response = client.get(bad)
        assert response.status_code == 404
        assert response.json()["error"] == {"code": "not_found", "message": "This link is not valid.", "fields": {}}
    assert not ReportDownload.objects.exists()


def test_a_link_works_until_its_age_and_is_refused_after(emailed, client, settings):
    _report, links, _message = emailed
    sent = dt.datetime.now(dt.UTC)
    with time_machine.travel(sent + dt.timedelta(seconds=settings.REPORTS_LINK_MAX_AGE - 60), tick=False):
        assert client.get(_path(links["CSV"])).status_code == 302
    with time_machine.travel(sent + dt.timedelta(seconds=settings.REPORTS_LINK_MAX_AGE + 60), tick=False):
        response = client.get(_path(links["CSV"]))
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "link_expired" and "console" in response.json()["error"]["message"]
    assert ReportDownload.objects.count() == 1


def test_the_short_url_behind_the_link_expires_too(emailed, client):
    _report, links, _message = emailed
    response = client.get(_path(links["CSV"]))
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6), tick=False):
        assert client.get(response["Location"]).status_code == 404


@pytest.fixture
def s3_default_storage(settings, moto_s3_endpoint, monkeypatch):
    """The default storage (where reports are written) on a fresh bucket of the moto server."""
    import uuid

    import boto3

    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    bucket = f"reports-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_s3_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": bucket, "endpoint_url": moto_s3_endpoint, "region_name": "us-east-1",
                    "default_acl": None, "querystring_auth": True}}}
    return moto_s3_endpoint


def test_on_s3_the_link_redirects_to_a_presigned_url_of_minutes(s3_default_storage, emailed, client):
    report, links, _message = emailed
    response = client.get(_path(links["CSV"]))
    assert response.status_code == 302
    location = response["Location"]
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(s3_default_storage)
    assert 0 < int(query["Expires"][0]) - time.time() <= 300  # a URL of minutes, not the link's days
    with urllib.request.urlopen(location) as answer:  # noqa: S310 - the local moto server
        assert answer.headers["Content-Disposition"].startswith("attachment")
        assert answer.read() == report.csv_file.open("rb").read()
    assert ReportDownload.objects.get().via == "email_link"
