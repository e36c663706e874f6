"""The console's Reports section (wired in ops_console/admin/reports.py): run a report on screen with cards,
a chart and the table, download it, keep it (a Huey job writes the files), schedule it; the month close.

Figures come from core.reporting.reports; access is core's report permissions (Finance: revenue and month
close, Operations: operational, Admin: all). DomainErrors become messages on the page.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from core.common.audit import client_ip
from core.common.errors import DomainError
from core.reporting.models import Report, ReportDownload, ReportStatus
from core.reporting.reports import MONTH_CLOSE_PERMISSION, REPORT_TYPES
from core.reporting.reports.files import report_csv, report_xlsx, stream_csv, xlsx_file
from core.reporting.reports.month_close import HEADERS, month_close_queryset, month_close_rows
from core.reporting.reports.services import (
    report_download_record,
    report_file_from_token,
    report_request,
    report_run,
    report_schedule_create,
    report_type_allowed,
)
from ops_console.exports import iter_values
from ops_console.report_forms import MonthCloseForm, ReportForm, ScheduleForm

TEMPLATE_DIR = "ops_console/reports"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What each report draws over time (the first measure per dimension value when the report is split)
CHART_MEASURES = {"revenue": ["gross", "net"], "operational": ["created", "completed", "cancelled"],
                  "customer": ["new", "returning"]}
COLOURS = ["var(--color-primary-600)", "#0ea5e9", "#f59e0b", "#10b981", "#ef4444", "#6366f1"]


def may_run_any_report(user) -> bool:
    return any(report_type_allowed(user=user, report_type=k) for k in REPORT_TYPES)


def may_open_report(user, report: Report) -> bool:
    return report_type_allowed(user=user, report_type=report.report_type)


def _label(period) -> str:
    return "Whole range" if period is None else period.isoformat()


def chart_data(result) -> dict:
    """Chart.js data for Unfold's chart components: the main table's measures over its periods."""
    section = result.main
    measures = CHART_MEASURES.get(result.report_type) or result.params.get("measures", [])[:2]
    columns = {c.key: c.label for c in section.columns}
    labels = list(dict.fromkeys(_label(r.get("period")) for r in section.rows))
    dims = [c.key for c in section.columns if c.key == "dim" or c.key.startswith("d_")]
    datasets = []
    if dims:
        measure = measures[0]
        series: dict = {}
        for r in section.rows:
            name = " / ".join(str(r.get(d)) for d in dims)
            series.setdefault(name, {})[_label(r.get("period"))] = float(r.get(measure) or 0)
        for i, (name, values) in enumerate(series.items()):
            datasets.append({"label": f"{columns[measure]}: {name}", "data": [values.get(x, 0) for x in labels],
                             "backgroundColor": COLOURS[i % len(COLOURS)], "borderColor": COLOURS[i % len(COLOURS)]})
    else:
        for i, measure in enumerate(measures):
            datasets.append({"label": columns[measure], "data": [float(r.get(measure) or 0) for r in section.rows],
                             "backgroundColor": COLOURS[i % len(COLOURS)], "borderColor": COLOURS[i % len(COLOURS)]})
    return {"labels": labels, "datasets": datasets}


def _cell(value, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "money":
        return f"${value:,.2f}"
    if kind == "percent":
        return f"{value}%"
    return str(value)


def table_data(section, *, customer_url=None) -> dict:
    rows = []
    for r in section.rows:
        row = [_label(r.get("period")) if c.key == "period" else _cell(r.get(c.key), c.kind) for c in section.columns]
        if customer_url and r.get("customer_id"):
            row[0] = format_html('<a class="text-primary-600" href="{}">{}</a>', customer_url(r["customer_id"]), row[0])
        rows.append(row)
    if section.totals:
        rows.append(["Total" if c.key == section.columns[0].key else
                     ("" if c.kind == "text" else _cell(section.totals.get(c.key), c.kind)) for c in section.columns])
    return {"headers": [c.label for c in section.columns], "rows": rows}


class ReportsConsoleMixin:
    """ModelAdmin mixin for Report: the run page, downloads, signed links and the month close."""

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("run/", view(self.run_view), name="core_report_run"),
            path("month-close/", view(self.month_close_view), name="core_report_month_close"),
            path("<int:report_id>/download/<str:fmt>/", view(self.download_view), name="core_report_download"),
            path("file/<str:token>/", view(self.file_link_view), name="core_report_file"),
            *super().get_urls(),
        ]

    def get_queryset(self, request):
        kinds = [k for k in REPORT_TYPES if report_type_allowed(user=request.user, report_type=k)]
        return super().get_queryset(request).filter(report_type__in=kinds).select_related("generated_by")

    # --- run on screen ---------------------------------------------------------------------------------

    def run_view(self, request):
        if not may_run_any_report(request.user):
            raise PermissionDenied
        form = ReportForm(request.GET or None, user=request.user)
        schedule_form = ScheduleForm(request.POST or None)
        context = {**self.admin_site.each_context(request), "title": "Reports", "form": form,
                   "schedule_form": schedule_form, "opts": self.opts}
        if form.is_valid():
            data, params = form.cleaned_data, form.parameters()
            args = {"report_type": data["report_type"], "start": data["start"], "end": data["end"],
                    "grouping": data["grouping"], "parameters": params}
            try:
                if request.method == "POST":
                    return self._keep_or_schedule(request, args, schedule_form)
                result = report_run(actor=request.user, **args)
            except DomainError as exc:
                messages.error(request, exc.message + "".join(f" {k}: {', '.join(map(str, v))}."
                                                              for k, v in exc.fields.items()))
                return TemplateResponse(request, f"{TEMPLATE_DIR}/run.html", context)
            fmt = request.GET.get("format")
            if fmt in ("csv", "xlsx"):
                return self._download(result, fmt)
            customer_url = None
            if request.user.has_perm("core.view_customerprofile"):
                def customer_url(pk):
                    return reverse("admin:core_customerprofile_change", args=[pk])
            context.update(result=result, chart=json.dumps(chart_data(result)),
                           chart_kind="bar" if result.params.get("grouping") == "none" else "line",
                           tables=[(s, table_data(s, customer_url=customer_url)) for s in result.sections],
                           query=request.GET.urlencode())
        return TemplateResponse(request, f"{TEMPLATE_DIR}/run.html", context)

    def _keep_or_schedule(self, request, args, schedule_form):
        if request.POST.get("action") == "schedule":
            if not request.user.has_perm("core.add_reportschedule"):
                raise PermissionDenied
            if not schedule_form.is_valid():
                messages.error(request, "Give the schedule a name, a frequency and at least one recipient.")
                return HttpResponseRedirect(request.get_full_path())
            args.pop("start"), args.pop("end")
            schedule = report_schedule_create(name=schedule_form.cleaned_data["schedule_name"],
                                              frequency=schedule_form.cleaned_data["frequency"],
                                              recipients=schedule_form.recipient_list(), actor=request.user, **args)
            messages.success(request, f"Scheduled: {schedule}. Next run {timezone.localtime(schedule.next_run_at):%b %-d %H:%M}.")
            return HttpResponseRedirect(reverse("admin:core_reportschedule_changelist"))
        if not request.user.has_perm("core.add_report"):
            raise PermissionDenied
        report = report_request(actor=request.user, **args)
        messages.success(request, f"Generating “{report.name}”: it appears below when done.")
        return HttpResponseRedirect(reverse("admin:core_report_changelist"))

    def _download(self, result, fmt: str) -> HttpResponse:
        stem = f"{result.report_type}-{result.params['start']:%Y%m%d}-{result.params['end']:%Y%m%d}"
        if fmt == "csv":
            response = HttpResponse(report_csv(result), content_type="text/csv; charset=utf-8")
        else:
            response = HttpResponse(report_xlsx(result), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
        response["Cache-Control"] = "no-store"
        return response

    # --- stored files ----------------------------------------------------------------------------------

    def _file_response(self, request, report: Report, fmt: str):
        if not may_open_report(request.user, report):
            raise PermissionDenied
        field = {"csv": report.csv_file, "xlsx": report.xlsx_file}.get(fmt)
        if report.status != ReportStatus.DONE or not field:
            messages.error(request, "This report has no file yet.")
            return HttpResponseRedirect(reverse("admin:core_report_changelist"))
        report_download_record(report=report, fmt=fmt, via=ReportDownload.Via.CONSOLE, actor=request.user,
                               ip_address=client_ip(request), user_agent=request.headers.get("User-Agent", ""))
        return FileResponse(default_storage.open(field.name, "rb"), as_attachment=True,
                            filename=field.name.rsplit("/", 1)[-1])

    def download_view(self, request, report_id: int, fmt: str):
        report = Report.objects.filter(pk=report_id).first()
        if report is None:
            messages.error(request, "No such report.")
            return HttpResponseRedirect(reverse("admin:core_report_changelist"))
        return self._file_response(request, report, fmt)

    def file_link_view(self, request, token: str):
        try:
            report, fmt = report_file_from_token(token=token)
        except DomainError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(reverse("admin:core_report_changelist"))
        return self._file_response(request, report, fmt)

    # --- month close -----------------------------------------------------------------------------------

    def month_close_view(self, request):
        if not request.user.has_perm(MONTH_CLOSE_PERMISSION):
            raise PermissionDenied
        form = MonthCloseForm(request.GET or None)
        if form.is_valid():
            year, month = form.cleaned_data["month"]
            values = month_close_queryset(year=year, month=month)
            name = f"month-close-{year}-{month:02d}"
            if form.cleaned_data["file_format"] == "csv":
                response = StreamingHttpResponse(stream_csv(HEADERS, month_close_rows(iter_values(values))),
                                                 content_type="text/csv; charset=utf-8")
                response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
            else:
                response = FileResponse(xlsx_file(HEADERS, month_close_rows(iter_values(values))), as_attachment=True,
                                        filename=f"{name}.xlsx", content_type=XLSX)
            response["Cache-Control"] = "no-store"
            return response
        context = {**self.admin_site.each_context(request), "title": "Month close", "form": form, "opts": self.opts}
        return TemplateResponse(request, f"{TEMPLATE_DIR}/month_close.html", context)
