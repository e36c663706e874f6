"""Reports: generated reports (with their files) and schedules; the run page and month close live on ReportAdmin
(ops_console.reports_console)."""

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from unfold.decorators import action, display

from core import models as m
from core.common.errors import DomainError
from core.reporting.models import ReportSchedule
from core.reporting.reports import REPORT_TYPES
from core.reporting.reports.services import (
    report_links_revoke,
    report_schedule_update,
    report_type_allowed,
    valid_recipients,
)
from ops_console.base import OpsModelAdmin, ReadOnlyOpsModelAdmin
from ops_console.formatting import local_datetime
from ops_console.reports_console import ReportsConsoleMixin


@admin.register(m.Report)
class ReportAdmin(ReportsConsoleMixin, ReadOnlyOpsModelAdmin):
    list_display = ["name", "report_type", "start_date", "end_date", "grouping", "progress_display",
                    "generated_by", "generated_at", "files"]
    list_filter = ["report_type", "status"]
    search_fields = ["name"]
    ordering = ["-created_at"]
    readonly_fields = ["name", "report_type", "start_date", "end_date", "grouping", "parameters", "status",
                       "progress", "error", "summary", "generated_by", "generated_at", "schedule", "files",
                       "download_log"]
    exclude = ["data", "csv_file", "xlsx_file"]
    show_full_result_count = False
    actions = ["revoke_links"]

    def has_revoke_links_permission(self, request, obj=None):
        return request.user.has_perm("core.view_report")  # the list only holds reports the user may open

    @action(description="Revoke emailed download links", icon="link_off", permissions=["revoke_links"])
    def revoke_links(self, request, queryset):
        """A forwarded or leaked report email stops working; the console downloads are unaffected."""
        reports = list(queryset)
        for report in reports:
            report_links_revoke(report=report, actor=request.user)
        messages.success(request, f"Emailed links revoked for {len(reports)} report(s).")

    @display(description="Status")
    def progress_display(self, obj):
        if obj.status == "running":
            return f"Running ({obj.progress}%)"
        return obj.get_status_display() + (f": {obj.error}" if obj.error else "")

    @display(description="Files")
    def files(self, obj):
        if obj.status != "done":
            return "—"
        return format_html('<a href="{}">CSV</a> · <a href="{}">XLSX</a>',
                           reverse("admin:core_report_download", args=[obj.pk, "csv"]),
                           reverse("admin:core_report_download", args=[obj.pk, "xlsx"]))


    @display(description="Downloads")
    def download_log(self, obj):
        """The last downloads of the files (emailed links and the console), newest first."""
        rows = list(obj.downloads.select_related("actor")[:20])
        if not rows:
            return "—"
        return format_html_join(mark_safe("<br>"), "{} · {} · {} · {}", (  # noqa: S308 - a constant
            (local_datetime(d.created_at), d.file_format.upper(), d.get_via_display(),
             d.actor or d.ip_address or "unknown") for d in rows))


class ReportScheduleForm(forms.ModelForm):
    class Meta:
        model = ReportSchedule
        fields = ["name", "is_active", "recipients"]

    def clean_recipients(self):
        try:
            return valid_recipients(self.cleaned_data["recipients"] or [])
        except DomainError as exc:
            raise forms.ValidationError(f"{exc.message} ({', '.join(exc.fields.get('recipients', []))})") from exc


@admin.register(m.ReportSchedule)
class ReportScheduleAdmin(OpsModelAdmin):
    form = ReportScheduleForm
    list_display = ["name", "report_type", "frequency", "grouping", "next_run_at", "last_run_at", "is_active",
                    "created_by"]
    list_filter = ["report_type", "frequency", "is_active"]
    fields = ["name", "is_active", "recipients", "report_type", "frequency", "grouping", "parameters",
              "next_run_at", "last_run_at", "created_by"]
    readonly_fields = ["report_type", "frequency", "grouping", "parameters", "next_run_at", "last_run_at",
                       "created_by"]
    list_select_related = ["created_by"]

    def has_add_permission(self, request):
        return False  # schedules are made from a report's page ("Save as scheduled"), through the service

    def get_queryset(self, request):
        kinds = [k for k in REPORT_TYPES if report_type_allowed(user=request.user, report_type=k)]
        return super().get_queryset(request).filter(report_type__in=kinds)

    def save_model(self, request, obj, form, change):
        try:
            report_schedule_update(schedule=ReportSchedule.objects.get(pk=obj.pk), name=obj.name,
                                   is_active=obj.is_active, recipients=obj.recipients, actor=request.user)
        except DomainError as exc:  # e.g. a role that may not run this report type
            messages.error(request, exc.message + "".join(f" {k}: {', '.join(map(str, v))}."
                                                          for k, v in exc.fields.items()))

    def has_import_permission(self, request):
        return False
