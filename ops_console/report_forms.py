"""Forms of the console's Reports section: what to run (from core's fixed lists), month close, schedules."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from core.bookings.models import BookingStatus
from core.catalog.models import ServiceType
from core.payments.models import PaymentMethod
from core.reporting.models import ReportFrequency
from core.reporting.reports import REPORT_TYPES
from core.reporting.reports.base import Grouping
from core.reporting.reports.custom import DATE_FIELDS, FILTERS
from core.reporting.reports.custom import DIMENSIONS as CUSTOM_DIMENSIONS
from core.reporting.reports.custom import MEASURES as CUSTOM_MEASURES
from core.reporting.reports.revenue import DIMENSIONS as REVENUE_DIMENSIONS
from core.reporting.reports.revenue import Basis
from core.reporting.reports.services import OPTIONS, report_type_allowed

DATE = forms.DateInput(attrs={"type": "date"})
BLANK = [("", "—")]


class ReportForm(forms.Form):
    report_type = forms.ChoiceField(label="Report")
    start = forms.DateField(widget=DATE)
    end = forms.DateField(widget=DATE)
    grouping = forms.ChoiceField(choices=Grouping.CHOICES, initial=Grouping.MONTH)
    basis = forms.ChoiceField(choices=Basis.CHOICES, required=False, help_text="Revenue only.")
    dimension = forms.ChoiceField(choices=BLANK + [(k, v[0]) for k, v in REVENUE_DIMENSIONS.items()],
                                  required=False, label="Split by", help_text="Revenue only.")
    service_type = forms.ChoiceField(choices=BLANK + ServiceType.choices, required=False)
    payment_method = forms.ChoiceField(choices=BLANK + PaymentMethod.choices, required=False,
                                       help_text="Revenue and custom.")
    measures = forms.MultipleChoiceField(choices=[(k, v[0]) for k, v in CUSTOM_MEASURES.items()], required=False,
                                         help_text="Custom only.")
    dimensions = forms.MultipleChoiceField(choices=[(k, v[0]) for k, v in CUSTOM_DIMENSIONS.items()],
                                           required=False, help_text="Custom only (at most two).")
    status = forms.ChoiceField(choices=BLANK + BookingStatus.choices, required=False, help_text="Custom only.")
    pickup_zip = forms.CharField(max_length=10, required=False, label="Pickup ZIP", help_text="Custom only.")
    dropoff_zip = forms.CharField(max_length=10, required=False, label="Dropoff ZIP",
                                  help_text="Custom only (with pickup ZIP: a corridor).")
    date_field = forms.ChoiceField(choices=[(k, v[0]) for k, v in DATE_FIELDS.items()], required=False,
                                   help_text="Custom only.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["report_type"].choices = [(k, t.label) for k, t in REPORT_TYPES.items()
                                              if report_type_allowed(user=user, report_type=k)]
        if not report_type_allowed(user=user, report_type="custom"):
            for name in ("measures", "dimensions", "date_field", "status", "pickup_zip", "dropoff_zip"):
                del self.fields[name]
        if not any(report_type_allowed(user=user, report_type=k) for k in ("revenue", "custom")):
            del self.fields["payment_method"]
        if not report_type_allowed(user=user, report_type="revenue"):
            del self.fields["basis"], self.fields["dimension"]
        today = timezone.localdate()
        self.fields["start"].initial = today.replace(day=1) - dt.timedelta(days=365)
        self.fields["end"].initial = today

    def parameters(self) -> dict:
        """The options of the chosen report type only (core refuses any other)."""
        data, kind = self.cleaned_data, self.cleaned_data["report_type"]
        params = {}
        for key in OPTIONS[kind] - {"filters"}:
            if key in self.fields and data.get(key) not in (None, "", []):
                params[key] = data[key]
        if kind == "custom":
            filters = {k: data[k].strip() if isinstance(data[k], str) else data[k] for k in FILTERS if data.get(k)}
            if filters:
                params["filters"] = filters
        return params


class ScheduleForm(forms.Form):
    schedule_name = forms.CharField(max_length=120, label="Schedule name")
    frequency = forms.ChoiceField(choices=ReportFrequency.choices)
    recipients = forms.CharField(help_text="Email addresses, separated by commas.")

    def recipient_list(self) -> list[str]:
        return [r.strip() for r in self.cleaned_data["recipients"].replace(";", ",").split(",") if r.strip()]


class MonthCloseForm(forms.Form):
    month = forms.CharField(widget=forms.TextInput(attrs={"type": "month"}), help_text="YYYY-MM")
    file_format = forms.ChoiceField(choices=[("csv", "CSV"), ("xlsx", "Excel (XLSX)")], label="Format")

    def clean_month(self) -> tuple[int, int]:
        try:
            moment = dt.datetime.strptime(self.cleaned_data["month"], "%Y-%m")
        except ValueError as exc:
            raise forms.ValidationError("Give a month as YYYY-MM.") from exc
        if not 2000 <= moment.year <= 2100:
            raise forms.ValidationError("Give a month between 2000 and 2100.")
        return moment.year, moment.month
