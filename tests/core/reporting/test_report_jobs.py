import csv
import datetime as dt
import io

import pytest
from django.core import mail

from core.common.errors import PermissionDenied, ValidationError
from core.notifications.models import Notification
from core.reporting.errors import ReportLinkExpired, ReportLinkInvalid
from core.reporting.models import Report, ReportSchedule, ReportStatus
from core.reporting.reports.services import (
    report_file_from_token,
    report_file_token,
    report_links_revoke,
    report_request,
    report_schedule_create,
    report_schedules_run_due,
)
from core.reporting.reports.tasks import run_report_schedules
from tests.core.reporting.data import booking, ny, pay
from tests.ops_console.conftest import make_role_user

D = dt.date


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _request(user, **overrides):
    params = {"report_type": "revenue", "start": D(2026, 1, 1), "end": D(2026, 3, 31), "grouping": "month",
              "parameters": {"basis": "cash"}, **overrides}
    return report_request(actor=user, **params)


def test_generation_writes_files_summary_and_data(ledger, django_capture_on_commit_callbacks):
    finance = make_role_user("finance")
    with django_capture_on_commit_callbacks(execute=True):
        report = _request(finance)
    report.refresh_from_db()
    assert (report.status, report.progress, report.generated_by) == (ReportStatus.DONE, 100, finance)
    assert report.summary["Net"] == "395.00"
    assert [r["gross"] for r in report.data["sections"][0]["rows"]] == ["100.00", "250.00", "70.00"]
    rows = list(csv.reader(io.StringIO(report.csv_file.read().decode())))
    assert ["Total", "420.00", "25.00", "395.00", "9.30", "385.70", "200.00", "15.00", "170.70", "210.00", "4", "1",
            "2", "1", "1"] in rows
    assert report.xlsx_file.name.endswith(".xlsx") and report.xlsx_file.size > 0


def test_the_same_parameters_twice_regenerate_and_keep_history(ledger, django_capture_on_commit_callbacks):
    finance = make_role_user("finance")
    with django_capture_on_commit_callbacks(execute=True):
        first = _request(finance)
    pay(booking(pickup=D(2026, 3, 20)), 1000, ny(2026, 3, 20, 12), fee=59)
    with django_capture_on_commit_callbacks(execute=True):
        second = _request(finance)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.pk != second.pk and Report.objects.count() == 2
    assert (first.summary["Gross charged"], second.summary["Gross charged"]) == ("420.00", "430.00")


@pytest.mark.parametrize(("role", "report_type"), [("operations", "revenue"), ("finance", "operational"),
                                                   ("finance", "customer"), ("nogroup", "revenue")])
def test_roles_may_only_run_their_reports(db, role, report_type):
    with pytest.raises(PermissionDenied):
        _request(make_role_user(role), report_type=report_type, parameters={})


def test_admin_may_run_every_report(db, django_capture_on_commit_callbacks):
    admin = make_role_user("admin")
    with django_capture_on_commit_callbacks(execute=True):
        reports = [_request(admin, report_type=t, parameters={}) for t in ("revenue", "operational", "customer")]
    assert {Report.objects.get(pk=r.pk).status for r in reports} == {ReportStatus.DONE}


def test_unknown_options_are_refused_when_requested(db):
    with pytest.raises(ValidationError) as err:
        _request(make_role_user("admin"), parameters={"sql": "select 1"})
    assert err.value.fields == {"parameters": ["sql"]}


def test_a_bad_option_value_fails_the_job_with_the_reason(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = _request(make_role_user("admin"), parameters={"basis": "accrual"})
    report.refresh_from_db()
    assert report.status == ReportStatus.FAILED and report.error == "Unknown basis."


def _schedule(now, **overrides):
    return report_schedule_create(**{"name": "Month end", "report_type": "revenue", "grouping": "day",
                                     "parameters": {"basis": "cash"}, "frequency": "monthly",
                                     "recipients": ["finance@totetaxi.test", "cfo@totetaxi.test"],
                                     "actor": make_role_user("finance"), "now": now, **overrides})


def test_a_missed_run_is_caught_up_once_and_finance_gets_a_link(ledger, django_capture_on_commit_callbacks):
    schedule = _schedule(ny(2026, 3, 10, 12))
    assert schedule.next_run_at == ny(2026, 4, 1, 6)
    # the consumer was down from April to mid-June: one catch-up, for the month just finished
    with django_capture_on_commit_callbacks(execute=True):
        created = report_schedules_run_due(now=ny(2026, 6, 15, 12))
    (report,) = Report.objects.filter(pk__in=created)
    assert (report.start_date, report.end_date, report.status) == (D(2026, 5, 1), D(2026, 5, 31), ReportStatus.DONE)
    schedule.refresh_from_db()
    assert schedule.next_run_at == ny(2026, 7, 1, 6)
    assert report_schedules_run_due(now=ny(2026, 6, 15, 12, 15)) == []
    emails = Notification.objects.filter(dedupe_key__startswith=f"staff:report:{report.pk}:")
    assert sorted(n.recipients[0] for n in emails) == ["cfo@totetaxi.test", "finance@totetaxi.test"]
    sent = [m for m in mail.outbox if m.subject == f"Report ready: {report.name}"]
    assert sorted(m.to[0] for m in sent) == ["cfo@totetaxi.test", "finance@totetaxi.test"]
    csv_link = next(line for line in sent[0].body.splitlines() if line.startswith("CSV: "))
    assert csv_link.startswith("CSV: http://localhost:8000/api/v1/reports/files/")
    token = csv_link.rstrip("/").rsplit("/", 1)[1]
    assert report_file_from_token(token=token) == (report, "csv")


def _emailed_token(report, fmt="csv"):
    sent = [m for m in mail.outbox if m.subject == f"Report ready: {report.name}"]
    line = next(line for line in sent[0].body.splitlines() if line.startswith(f"{fmt.upper()}: "))
    return line.rstrip("/").rsplit("/", 1)[1]


def test_no_stored_notification_holds_a_report_link_and_a_revoked_link_is_refused(
        ledger, client, django_capture_on_commit_callbacks):
    _schedule(ny(2026, 3, 10, 12))
    with django_capture_on_commit_callbacks(execute=True):
        (pk,) = report_schedules_run_due(now=ny(2026, 4, 1, 7))
    report = Report.objects.get(pk=pk)
    tokens = [_emailed_token(report, fmt) for fmt in ("csv", "xlsx")]
    stored = [(n.subject, n.body_text, n.body_html)
              for n in Notification.history.filter(dedupe_key__startswith=f"staff:report:{pk}:")]
    stored += [(n.subject, n.body_text, n.body_html)
               for n in Notification.objects.filter(dedupe_key__startswith=f"staff:report:{pk}:")]
    assert len(stored) > 2 and all(n[1] for n in stored)
    for text in stored:
        assert "/api/v1/reports/files/" not in "".join(text)
        assert not any(token in "".join(text) or token.split(":")[0] in "".join(text) for token in tokens)
        assert "{{ report_file_url:" in text[1]
    assert client.get(f"/api/v1/reports/files/{tokens[0]}/").status_code == 302  # the emailed link works

    report_links_revoke(report=report)
    for token in tokens:
        response = client.get(f"/api/v1/reports/files/{token}/")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    fresh = report_file_token(report=Report.objects.get(pk=pk), fmt="csv")  # links minted later work again
    assert client.get(f"/api/v1/reports/files/{fresh}/").status_code == 302
    Report.objects.get(pk=pk).delete()  # a deleted report's links are refused too
    assert client.get(f"/api/v1/reports/files/{fresh}/").status_code == 404


def test_a_report_placeholder_in_another_message_mints_no_link(ledger, django_capture_on_commit_callbacks):
    from core.notifications.services import notification_send_staff
    from core.reporting.reports.services import report_link_placeholder

    with django_capture_on_commit_callbacks(execute=True):
        report = _request(make_role_user("finance"))
    with django_capture_on_commit_callbacks(execute=True):
        notification_send_staff(recipients=["ops@totetaxi.test"], subject="Look",
                                body=f"here {report_link_placeholder(report=report, fmt='csv')}",
                                event_key="ops-typed")
    (message,) = [m for m in mail.outbox if m.subject == "Look"]
    assert "/reports/files/" not in message.body and "report_file_url" not in message.body


def test_the_periodic_task_runs_due_schedules(ledger, django_capture_on_commit_callbacks):
    schedule = _schedule(ny(2026, 3, 10, 12), frequency="daily")
    ReportSchedule.objects.filter(pk=schedule.pk).update(next_run_at=ny(2026, 3, 11, 6))
    with django_capture_on_commit_callbacks(execute=True):
        created = run_report_schedules.call_local()
    assert len(created) == 1 and Report.objects.get(pk=created[0]).schedule_id == schedule.pk


def test_a_period_is_generated_once_even_if_next_run_at_was_reset(ledger, django_capture_on_commit_callbacks):
    schedule = _schedule(ny(2026, 3, 10, 12))
    report_schedules_run_due(now=ny(2026, 4, 2, 6))
    ReportSchedule.objects.filter(pk=schedule.pk).update(next_run_at=ny(2026, 4, 1, 6))
    assert report_schedules_run_due(now=ny(2026, 4, 2, 7)) == []
    assert Report.objects.filter(schedule=schedule).count() == 1


@pytest.mark.parametrize("recipients", [[], ["not-an-email"]])
def test_schedules_need_valid_recipients(db, recipients):
    with pytest.raises(ValidationError):
        _schedule(ny(2026, 3, 10, 12), recipients=recipients)


def test_links_expire_and_refuse_tampering(ledger, settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = _request(make_role_user("finance"))
    report.refresh_from_db()  # the link names the generated files
    token = report_file_token(report=report, fmt="xlsx")
    assert report_file_from_token(token=token)[1] == "xlsx"
    with pytest.raises(ReportLinkInvalid, match="not valid"):
        report_file_from_token(token=token[:-2] + "xx")
    settings.REPORTS_LINK_MAX_AGE = -1
    with pytest.raises(ReportLinkExpired, match="expired"):
        report_file_from_token(token=token)
