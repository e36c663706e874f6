"""Writes of the reports area: requesting and generating a Report (files in storage), schedules and their runs.

A generation is a Huey job (tasks.py) that loads the row by id; it regenerates from the data every time, so
the same parameters twice give two rows with fresh figures and the first stays as history.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from core.common.errors import DomainError, PermissionDenied, ValidationError
from core.common.services import model_update
from core.integrations import storage
from core.reporting.errors import ReportLinkExpired, ReportLinkInvalid
from core.reporting.models import Report, ReportDownload, ReportFrequency, ReportSchedule, ReportStatus
from core.reporting.reports import REPORT_TYPES
from core.reporting.reports.base import check_range, day_start, tz
from core.reporting.reports.files import report_csv, report_xlsx

# The options each report type accepts besides its range and grouping (anything else is refused).
OPTIONS = {
    "revenue": {"basis", "dimension", "service_type", "payment_method"},
    "operational": {"service_type"},
    "customer": {"service_type"},
    "custom": {"measures", "dimensions", "date_field", "filters"},
}
LINK_SALT = "core.reporting.report-file"


def report_type_allowed(*, user, report_type: str) -> bool:
    spec = REPORT_TYPES.get(report_type)
    return spec is not None and user is not None and user.has_perm(spec.permission)


def report_kwargs(*, report_type: str, start: dt.date, end: dt.date, grouping: str, parameters: dict) -> dict:
    """The selector's keyword arguments, refusing unknown report types and options."""
    if report_type not in REPORT_TYPES:
        raise ValidationError("Unknown report.", fields={"report_type": [f"Choose one of {', '.join(REPORT_TYPES)}."]})
    unknown = set(parameters) - OPTIONS[report_type]
    if unknown:
        raise ValidationError("Unknown report options.", fields={"parameters": sorted(unknown)})
    check_range(start=start, end=end, grouping=grouping)
    return {"start": start, "end": end, "grouping": grouping,
            **{k: v for k, v in parameters.items() if v not in (None, "")}}


def report_run(*, report_type: str, start: dt.date, end: dt.date, grouping: str, parameters: dict, actor):
    """Run a report now (the console's on-screen view): the permission check plus the selector."""
    if not report_type_allowed(user=actor, report_type=report_type):
        raise PermissionDenied("You may not run this report.")
    kwargs = report_kwargs(report_type=report_type, start=start, end=end, grouping=grouping, parameters=parameters)
    return REPORT_TYPES[report_type].run(**kwargs)


def report_request(*, report_type: str, start: dt.date, end: dt.date, grouping: str, parameters: dict, actor,
                   name: str = "", schedule: ReportSchedule | None = None) -> Report:
    """Queue a generation (files in storage); the job starts after commit. `actor` None = a schedule."""
    if actor is not None and not report_type_allowed(user=actor, report_type=report_type):
        raise PermissionDenied("You may not run this report.")
    report_kwargs(report_type=report_type, start=start, end=end, grouping=grouping, parameters=parameters)
    report = Report.objects.create(
        name=name or f"{REPORT_TYPES[report_type].label} {start:%Y-%m-%d} to {end:%Y-%m-%d}",
        report_type=report_type, start_date=start, end_date=end, grouping=grouping, parameters=parameters,
        generated_by=actor, schedule=schedule)
    _enqueue_generation(report.pk)
    return report


def _enqueue_generation(report_id: int) -> None:
    from core.reporting.reports.tasks import generate_report

    transaction.on_commit(lambda: generate_report(report_id), robust=True)


def _jsonable(value):
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def report_generate(*, report_id: int) -> Report:
    """Compute the figures, write the CSV and XLSX to storage, mark done (a done report is left as it is)."""
    report = Report.objects.get(pk=report_id)
    if report.status == ReportStatus.DONE:
        return report
    model_update(instance=report, fields=["status", "progress", "error"],
                 data={"status": ReportStatus.RUNNING, "progress": 10, "error": ""})
    try:
        result = REPORT_TYPES[report.report_type].run(**report_kwargs(
            report_type=report.report_type, start=report.start_date, end=report.end_date, grouping=report.grouping,
            parameters=report.parameters))
        model_update(instance=report, fields=["progress"], data={"progress": 50})
        stem = f"{slugify(report.name) or report.report_type}-{report.pk}"
        report.csv_file.save(f"{stem}.csv", ContentFile(report_csv(result)), save=False)
        report.progress = 70
        model_update(instance=report, fields=["progress", "csv_file"])  # the file name is already set
        report.xlsx_file.save(f"{stem}.xlsx", ContentFile(report_xlsx(result)), save=False)
        sections = [{"key": s.key, "title": s.title, "columns": [c.__dict__ for c in s.columns], "rows": s.rows,
                     "totals": s.totals} for s in result.sections]
        report.data = _jsonable({"sections": sections, "notes": result.notes})
        report.summary = _jsonable(result.summary)
        report.status, report.progress, report.generated_at = ReportStatus.DONE, 100, timezone.now()
        model_update(instance=report, fields=["xlsx_file", "data", "summary", "status", "progress", "generated_at"])
    except DomainError as exc:
        model_update(instance=report, fields=["status", "error"], data={"status": ReportStatus.FAILED,
                                                                        "error": exc.message})
        return report
    if report.schedule_id:
        _email_recipients(report)
    return report


# --- links ------------------------------------------------------------------------------------------------
# A scheduled report's email carries one link per file: a signed token (REPORTS_LINK_MAX_AGE) to our own view,
# which records the download and redirects to a URL of a few minutes (an S3 presigned URL, or the signed local
# file view). The email never holds a storage URL itself: every download is recorded, and S3's 7-day presign
# limit does not bound the link's life.

FILE_TYPES = {"csv": "text/csv; charset=utf-8",
              "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _link_nonce(report: Report) -> str:
    """What a link is bound to: the report's files and its revocation time. Revoking, or new files, changes it."""
    revoked = report.links_revoked_at.isoformat() if report.links_revoked_at else ""
    raw = f"report-link:{report.pk}:{report.csv_file.name}:{report.xlsx_file.name}:{revoked}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def report_file_token(*, report: Report, fmt: str) -> str:
    return signing.dumps({"r": report.pk, "f": fmt, "n": _link_nonce(report)}, salt=LINK_SALT)


def report_file_from_token(*, token: str) -> tuple[Report, str]:
    """The report and format a link names; refuses tampered, expired (REPORTS_LINK_MAX_AGE) and revoked links."""
    try:
        payload = signing.loads(token, salt=LINK_SALT, max_age=settings.REPORTS_LINK_MAX_AGE)
        report = Report.objects.get(pk=payload["r"], status=ReportStatus.DONE)
    except signing.SignatureExpired as exc:
        raise ReportLinkExpired("This link has expired; open the report in the console.") from exc
    except (signing.BadSignature, KeyError, TypeError, Report.DoesNotExist) as exc:
        raise ReportLinkInvalid("This link is not valid.") from exc
    if payload.get("f") not in FILE_TYPES:
        raise ReportLinkInvalid("This link is not valid.")
    if not hmac.compare_digest(str(payload.get("n", "")), _link_nonce(report)):
        raise ReportLinkInvalid("This link is no longer valid; open the report in the console.")
    return report, payload["f"]


def report_links_revoke(*, report: Report, actor=None) -> Report:
    """Every emailed (or console) link to this report's files stops working; links minted later work again."""
    model_update(instance=report, fields=["links_revoked_at"], data={"links_revoked_at": timezone.now()},
                 actor=actor)
    return report


def report_download_record(*, report: Report, fmt: str, via: str, actor=None, ip_address: str | None = None,
                           user_agent: str = "") -> ReportDownload:
    return ReportDownload.objects.create(report=report, file_format=fmt, via=via, actor=actor,
                                         ip_address=ip_address, user_agent=user_agent[:300])


def report_link_download_url(*, token: str, ip_address: str | None = None, user_agent: str = "") -> str:
    """Where an emailed link's download goes (no login: the signed token is the grant); the download is recorded."""
    report, fmt = report_file_from_token(token=token)
    field = {"csv": report.csv_file, "xlsx": report.xlsx_file}[fmt]
    if not field:
        raise ReportLinkInvalid("This report has no file.")
    report_download_record(report=report, fmt=fmt, via=ReportDownload.Via.EMAIL_LINK, ip_address=ip_address,
                           user_agent=user_agent)
    return storage.signed_url(field.name, filename=field.name.rsplit("/", 1)[-1], content_type=FILE_TYPES[fmt],
                              alias="default")


def report_link_url(*, report: Report, fmt: str) -> str:
    from django.urls import reverse

    base = settings.REPORTS_CONSOLE_URL.rstrip("/")
    return f"{base}{reverse('api-v1:report_file', kwargs={'token': report_file_token(report=report, fmt=fmt)})}"


# The stored email holds placeholders, not links: the notifications area asks report_links_render for fresh links
# when it hands the email to the provider, so no Notification row (nor its history), which Operations can read
# in the console, holds a key to a Finance report.
_LINK_PLACEHOLDER = re.compile(r"\{\{ report_file_url:(\d+):(csv|xlsx) \}\}")


def report_link_placeholder(*, report: Report, fmt: str) -> str:
    return f"{{{{ report_file_url:{report.pk}:{fmt} }}}}"


def report_links_render(text: str, *, dedupe_key: str) -> str:
    """`text` with report-link placeholders replaced by freshly signed links, at send time only.

    Only in the report's own staff email (its dedupe key names the report): a placeholder typed into another
    message mints nothing, it becomes the console's address.
    """
    if "{{ report_file_url:" not in text:
        return text

    def link(match: re.Match) -> str:
        pk, fmt = int(match.group(1)), match.group(2)
        report = Report.objects.filter(pk=pk, status=ReportStatus.DONE).first()
        if report is None or not dedupe_key.startswith(f"staff:report:{pk}:"):
            return settings.REPORTS_CONSOLE_URL
        return report_link_url(report=report, fmt=fmt)

    return _LINK_PLACEHOLDER.sub(link, text)


def _email_recipients(report: Report) -> None:
    from core.notifications.services import notification_send_staff

    links = "\n".join(f"{fmt.upper()}: {report_link_placeholder(report=report, fmt=fmt)}" for fmt in ("csv", "xlsx"))
    days = settings.REPORTS_LINK_MAX_AGE // 86400
    lifetime = f"{days} days" if days >= 1 else f"{settings.REPORTS_LINK_MAX_AGE // 3600} hours"
    body = (f"{report.name} is ready.\n\n{links}\n\nThe links download the files without a login for {lifetime}; "
            f"every download is recorded. Do not forward this email. Afterwards, open the report in the console.")
    notification_send_staff(recipients=report.schedule.recipients, subject=f"Report ready: {report.name}",
                            body=body, event_key=f"report:{report.pk}")


# --- schedules --------------------------------------------------------------------------------------------

RUN_HOUR = 6  # New York time: the previous day's late payments and refunds have landed


def next_run_after(*, frequency: str, now: dt.datetime) -> dt.datetime:
    """The first run time strictly after `now`: 06:00 New York the next day / Monday / 1st of the month."""
    today = timezone.localtime(now, tz()).date()
    for offset in range(0, 32):
        day = today + dt.timedelta(days=offset)
        if frequency == ReportFrequency.WEEKLY and day.weekday() != 0:
            continue
        if frequency == ReportFrequency.MONTHLY and day.day != 1:
            continue
        moment = day_start(day) + dt.timedelta(hours=RUN_HOUR)
        if moment > now:
            return moment
    raise AssertionError("unreachable: every frequency has a run within 32 days")


def period_before(*, frequency: str, run_at: dt.datetime) -> tuple[dt.date, dt.date]:
    """The period a run at `run_at` reports on: the day, Monday–Sunday week or month just finished."""
    today = timezone.localtime(run_at, tz()).date()
    if frequency == ReportFrequency.DAILY:
        return today - dt.timedelta(days=1), today - dt.timedelta(days=1)
    if frequency == ReportFrequency.WEEKLY:
        monday = today - dt.timedelta(days=today.weekday())
        return monday - dt.timedelta(days=7), monday - dt.timedelta(days=1)
    last = today.replace(day=1) - dt.timedelta(days=1)
    return last.replace(day=1), last


def valid_recipients(recipients: list[str]) -> list[str]:
    from django.core.exceptions import ValidationError as DjangoValidationError
    from django.core.validators import validate_email

    recipients = [str(r).strip() for r in recipients if str(r).strip()]
    bad = []
    for address in recipients:
        try:
            validate_email(address)
        except DjangoValidationError:
            bad.append(address)
    if not recipients or bad:
        raise ValidationError("Give at least one valid email address.", fields={"recipients": bad or ["required"]})
    return recipients


def report_schedule_update(*, schedule: ReportSchedule, name: str, is_active: bool, recipients: list[str],
                           actor) -> ReportSchedule:
    """What may change on a schedule: its name, recipients and whether it runs (the report itself is fixed)."""
    if not report_type_allowed(user=actor, report_type=schedule.report_type):
        raise PermissionDenied("You may not change this schedule.")
    if not isinstance(recipients, list):
        raise ValidationError("Recipients are a list of email addresses.", fields={"recipients": ["not a list"]})
    model_update(instance=schedule, fields=["name", "is_active", "recipients"], actor=actor,
                 data={"name": name, "is_active": is_active, "recipients": valid_recipients(recipients)})
    return schedule


def report_schedule_create(*, name: str, report_type: str, grouping: str, parameters: dict, frequency: str,
                           recipients: list[str], actor, now: dt.datetime | None = None) -> ReportSchedule:
    if not report_type_allowed(user=actor, report_type=report_type):
        raise PermissionDenied("You may not schedule this report.")
    if frequency not in ReportFrequency.values:
        raise ValidationError("Unknown frequency.", fields={"frequency": [f"Choose one of {ReportFrequency.values}."]})
    recipients = valid_recipients(recipients)
    start, end = period_before(frequency=frequency, run_at=now or timezone.now())
    report_kwargs(report_type=report_type, start=start, end=end, grouping=grouping, parameters=parameters)
    schedule = ReportSchedule(name=name or REPORT_TYPES[report_type].label, report_type=report_type,
                              grouping=grouping, parameters=parameters, frequency=frequency, recipients=recipients,
                              next_run_at=next_run_after(frequency=frequency, now=now or timezone.now()),
                              created_by=actor)
    from core.common.audit import set_actor

    set_actor(schedule, actor)
    schedule.full_clean()
    schedule.save(force_insert=True)
    return schedule


def report_schedules_run_due(*, now: dt.datetime | None = None) -> list[int]:
    """Generate what is due, once per schedule: after an outage only the latest missed period is generated
    (a catch-up, not a replay), and next_run_at moves past `now`. Returns the new report ids."""
    now = now or timezone.now()
    created = []
    due = list(ReportSchedule.objects.filter(is_active=True, next_run_at__lte=now).values_list("pk", flat=True))
    for schedule_id in due:
        with transaction.atomic():
            schedule = (ReportSchedule.objects.select_for_update(skip_locked=True)
                        .filter(pk=schedule_id, is_active=True, next_run_at__lte=now).first())
            if schedule is None:
                continue  # another worker has it, or it ran meanwhile
            start, end = period_before(frequency=schedule.frequency, run_at=now)
            try:
                with transaction.atomic():
                    report = report_request(report_type=schedule.report_type, start=start, end=end,
                                            grouping=schedule.grouping, parameters=schedule.parameters, actor=None,
                                            name=f"{schedule.name} {start:%Y-%m-%d} to {end:%Y-%m-%d}",
                                            schedule=schedule)
                created.append(report.pk)
            except IntegrityError:
                pass  # this period was already generated (report_once_per_schedule_period)
            model_update(instance=schedule, fields=["last_run_at", "next_run_at"],
                         data={"last_run_at": now, "next_run_at": next_run_after(frequency=schedule.frequency,
                                                                                  now=now)})
    return created
