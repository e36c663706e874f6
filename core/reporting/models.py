from django.conf import settings
from django.db import models

from core.common.models import BaseModel, audited_history


class DailyMetrics(models.Model):
    """The dashboard's daily snapshot, computed by a periodic job (the seed's Dashboard model)."""

    date = models.DateField(unique=True)
    bookings_created = models.PositiveIntegerField(default=0)
    bookings_by_type = models.JSONField(default=dict)
    paid_bookings = models.PositiveIntegerField(default=0, help_text="Bookings created that day and paid for.")
    revenue = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    refunds = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    pickups = models.PositiveIntegerField(default=0)
    cancellations = models.PositiveIntegerField(default=0)
    outstanding_coi_count = models.PositiveIntegerField(
        default=0, help_text="Moves in the following 7 days still waiting for a certificate of insurance.")
    onfleet_tasks_created = models.PositiveIntegerField(default=0)
    deliveries_completed = models.PositiveIntegerField(default=0, help_text="Drop-offs completed that day.")
    deliveries_failed = models.PositiveIntegerField(default=0, help_text="Drop-offs failed that day.")
    average_delivery_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Pickup started → drop-off completed, for drop-offs completed that day.")
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "reporting_dailymetrics"
        ordering = ["-date"]
        verbose_name_plural = "daily metrics"

    @property
    def delivery_success_rate(self) -> float | None:
        done = self.deliveries_completed + self.deliveries_failed
        return self.deliveries_completed / done if done else None

class ReportKind(models.TextChoices):
    REVENUE = "revenue", "Revenue"
    OPERATIONAL = "operational", "Operations"
    CUSTOMER = "customer", "Customers"
    CUSTOM = "custom", "Custom"


class ReportFrequency(models.TextChoices):
    DAILY = "daily", "Daily (yesterday)"
    WEEKLY = "weekly", "Weekly (last Monday–Sunday)"
    MONTHLY = "monthly", "Monthly (last month)"


class ReportSchedule(BaseModel):
    """A report generated every day, week or month for the period just finished, emailed to its recipients."""

    name = models.CharField(max_length=120)
    report_type = models.CharField(max_length=20, choices=ReportKind.choices)
    grouping = models.CharField(max_length=10, default="day")
    parameters = models.JSONField(default=dict, blank=True, help_text="The report's options (basis, filters …).")
    frequency = models.CharField(max_length=10, choices=ReportFrequency.choices)
    recipients = models.JSONField(default=list, help_text="Email addresses that receive the link.")
    next_run_at = models.DateTimeField(db_index=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    history = audited_history()

    class Meta:
        db_table = "reporting_schedule"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(report_type__in=ReportKind.values),
                                   name="report_schedule_type_valid"),
            models.CheckConstraint(condition=models.Q(frequency__in=ReportFrequency.values),
                                   name="report_schedule_frequency_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_frequency_display()})"


class ReportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Report(BaseModel):
    """One generation of a report: its parameters, figures, summary and files (the seed's Report model).

    Running the same parameters again makes a new row (fresh data; earlier runs stay as history).
    """

    name = models.CharField(max_length=160)
    report_type = models.CharField(max_length=20, choices=ReportKind.choices)
    start_date = models.DateField()
    end_date = models.DateField()
    grouping = models.CharField(max_length=10, default="day")
    parameters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=ReportStatus.choices, default=ReportStatus.QUEUED,
                              db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    error = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True, help_text="The generated sections (rows and totals).")
    summary = models.JSONField(default=dict, blank=True)
    csv_file = models.FileField(upload_to="reports/%Y/%m/", blank=True, max_length=255)
    xlsx_file = models.FileField(upload_to="reports/%Y/%m/", blank=True, max_length=255)
    generated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    generated_at = models.DateTimeField(null=True, blank=True)
    schedule = models.ForeignKey(ReportSchedule, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="reports")
    # Emailed download links name this value: setting it (revoking) invalidates every link issued before.
    links_revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "reporting_report"
        ordering = ["-created_at"]
        permissions = [
            ("run_revenue_report", "Can run revenue reports"),
            ("run_operational_report", "Can run operational reports"),
            ("run_customer_report", "Can run customer reports"),
            ("run_custom_report", "Can run custom reports"),
            ("export_month_close", "Can export the month close"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(report_type__in=ReportKind.values), name="report_type_valid"),
            models.CheckConstraint(condition=models.Q(status__in=ReportStatus.values), name="report_status_valid"),
            models.CheckConstraint(condition=models.Q(end_date__gte=models.F("start_date")),
                                   name="report_range_ordered"),
            # A schedule generates each period once, however often the periodic job runs.
            models.UniqueConstraint(fields=["schedule", "start_date", "end_date"],
                                    condition=models.Q(schedule__isnull=False), name="report_once_per_schedule_period"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.start_date}–{self.end_date}"


class ReportDownload(models.Model):
    """One download of a generated report's file: through the emailed link (no login) or the console."""

    class Via(models.TextChoices):
        EMAIL_LINK = "email_link", "Emailed link"
        CONSOLE = "console", "Console"

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="downloads")
    file_format = models.CharField(max_length=5)
    via = models.CharField(max_length=12, choices=Via.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "reporting_report_download"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.report_id} {self.file_format} via {self.via} @ {self.created_at:%Y-%m-%d %H:%M}"
