"""Documents, the COI review desk and buildings."""

import datetime as dt

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from unfold.contrib.filters.admin import ChoicesDropdownFilter
from unfold.decorators import action, display

from core import models as m
from core.documents.services import building_save
from ops_console.admin._common import html_table
from ops_console.base import OpsModelAdmin, ReadOnlyOpsModelAdmin
from ops_console.documents_console import (
    COIReviewMixin,
    DocumentDeskMixin,
    document_status_of,
    upload_url_for,
)
from ops_console.formatting import local_datetime

COI_COLOURS = {"pending": "warning", "valid": "success", "invalid": "danger", "expired": "danger",
               "waived": "info", "received": "info"}
WEEKDAYS = [(1, "Monday"), (2, "Tuesday"), (3, "Wednesday"), (4, "Thursday"), (5, "Friday"), (6, "Saturday"),
            (7, "Sunday")]


class ExpiringFilter(admin.SimpleListFilter):
    """Certificates whose policy ends within the next 14 days (core.documents.expiry, as the expiry job)."""

    title = "expiring"
    parameter_name = "expiring"

    def lookups(self, request, model_admin):
        return [("14", "Within 14 days")]

    def queryset(self, request, queryset):
        if self.value() != "14":
            return queryset
        from core.documents.expiry import expiring_q

        return queryset.filter(expiring_q(now=timezone.now(), days=14,
                                          prefix="document__" if queryset.model is m.COI else ""))


@admin.register(m.Document)
class DocumentAdmin(DocumentDeskMixin, ReadOnlyOpsModelAdmin):
    list_display = ["created_at", "original_filename", "document_type", "status_badge", "booking", "size",
                    "mime_type", "upload_source", "download_link"]
    list_filter = [("document_type", ChoicesDropdownFilter), ("coi__status", ChoicesDropdownFilter),
                   ExpiringFilter, "upload_source"]
    list_filter_submit = True
    list_select_related = ["booking", "coi"]
    search_fields = ["booking__booking_number", "original_filename", "sha256"]
    exclude = ["storage_key"]
    actions_list = ["upload"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(deleted_at=None)

    @display(description="Status", label=COI_COLOURS)
    def status_badge(self, obj):
        return document_status_of(obj)

    @display(description="File")
    def download_link(self, obj):
        return format_html('<a class="text-primary-600" href="{}">Download</a>',
                           reverse("admin:core_document_download", args=[obj.pk]))

    actions_detail = ["remove"]

    @action(description="Delete (kept 30 days, then purged)", icon="delete", permissions=["remove"])
    def remove(self, request, object_id):
        from django.http import HttpResponseRedirect

        from core.documents.services import document_soft_delete

        document = self.get_object(request, object_id)
        if document is not None:
            document_soft_delete(document=document, actor=request.user)
            self.message_user(request, f"{document.original_filename} deleted.")
        return HttpResponseRedirect(reverse("admin:core_document_changelist"))

    def has_remove_permission(self, request, object_id=None):
        return self._has(request, "change")

    @action(description="Upload a document", icon="upload_file", permissions=["add_document"])
    def upload(self, request):
        from django.http import HttpResponseRedirect

        return HttpResponseRedirect(reverse("admin:core_document_upload"))

    def has_add_document_permission(self, request):
        return self._has(request, "add")


@admin.register(m.COI)
class COIAdmin(COIReviewMixin, OpsModelAdmin):
    list_display = ["created_at", "booking", "move_date", "building", "holder_name", "expiration_date",
                    "status_badge"]
    list_filter = [("status", ChoicesDropdownFilter), ExpiringFilter]
    list_filter_submit = True
    list_select_related = ["booking", "building", "document"]
    search_fields = ["booking__booking_number", "holder_name", "general_liability_policy"]

    def has_add_permission(self, request):
        return False  # certificates come in as uploads

    def has_delete_permission(self, request, obj=None):
        return False

    def has_import_permission(self, request):
        return False

    @display(description="Move date", ordering="booking__pickup_date")
    def move_date(self, obj):
        return obj.booking.pickup_date if obj.booking_id else "—"

    @display(description="Status", ordering="status", label=COI_COLOURS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()


class BuildingForm(forms.ModelForm):
    move_weekdays = forms.TypedMultipleChoiceField(choices=WEEKDAYS, coerce=int, required=False,
                                                   widget=forms.CheckboxSelectMultiple,
                                                   help_text="Leave empty when moves are allowed any day.")
    additional_insureds = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                                          help_text="One name per line, worded as the building requires.")

    class Meta:
        model = m.Building
        fields = ["name", "line1", "city", "state", "zip_code", "contact_email", "notes", "requires_coi",
                  "holder_name", "holder_address", "additional_insureds", "min_general_each_occurrence",
                  "min_general_aggregate", "min_auto_combined_single", "min_umbrella", "min_workers_comp",
                  "requires_waiver_of_subrogation", "max_certificate_age_days", "lead_time_business_days",
                  "move_weekdays", "move_hours_start", "move_hours_end"]
        widgets = {"move_hours_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                   "move_hours_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}
        help_texts = {
            "move_hours_start": "New York time. A booking's whole pickup window must fit inside the move hours "
                                "(morning 8am–12pm, afternoon 12–5pm, flexible 8am–5pm); empty: no limit.",
            "move_hours_end": "00:00 means until midnight; empty: no limit.",
            "lead_time_business_days": "Notice the building needs: a pickup sooner than this many business days "
                                       "(Mon–Fri, US federal holidays excepted) after the booking day is refused.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["additional_insureds"] = "\n".join(self.instance.additional_insureds)

    def clean_additional_insureds(self):
        return [line.strip() for line in self.cleaned_data["additional_insureds"].splitlines() if line.strip()]

    def clean(self):
        from core.documents.buildings import normalize_address

        cleaned = super().clean()
        key = normalize_address(cleaned.get("line1", ""), cleaned.get("zip_code", ""))
        if m.Building.objects.filter(normalized_address=key).exclude(pk=self.instance.pk).exists():
            self.add_error("line1", "Another building has this address.")
        start, end = cleaned.get("move_hours_start"), cleaned.get("move_hours_end")
        if start and end and end != dt.time(0) and end <= start:
            self.add_error("move_hours_end", "End the move hours after they start.")
        return cleaned


@admin.register(m.Building)
class BuildingAdmin(OpsModelAdmin):
    form = BuildingForm
    list_display = ["name", "line1", "zip_code", "requires_coi", "holder_name", "move_days"]
    list_filter = ["requires_coi"]
    search_fields = ["name", "line1", "holder_name", "zip_code"]
    fieldsets = [
        (None, {"fields": ["name", "line1", "city", "state", "zip_code", "contact_email", "notes"]}),
        ("Certificate of insurance", {"fields": [
            "requires_coi", "holder_name", "holder_address", "additional_insureds", "min_general_each_occurrence",
            "min_general_aggregate", "min_auto_combined_single", "min_umbrella", "min_workers_comp",
            "requires_waiver_of_subrogation", "max_certificate_age_days"]}),
        ("Moves allowed", {"fields": ["move_weekdays", "move_hours_start", "move_hours_end",
                                      "lead_time_business_days"]}),
    ]

    def save_model(self, request, obj, form, change):
        building_save(building=obj, actor=request.user)

    @display(description="Move days")
    def move_days(self, obj):
        return ", ".join(name[:3] for n, name in WEEKDAYS if n in obj.move_weekdays) or "Any day"


def booking_documents_table(booking, *, can_upload: bool = False) -> str:
    """The booking's Documents tab: a table inside the tab (one row of tabs, like the booking's other tables),
    under an "Upload a COI" button for staff who may add documents."""
    docs = booking.documents.filter(deleted_at=None).select_related("coi").order_by("-created_at")
    rows = []
    for doc in docs:
        if doc.document_type == "coi" and getattr(doc, "coi", None):
            link = format_html('<a class="text-primary-600" href="{}">Review</a>',
                               reverse("admin:core_coi_change", args=[doc.coi.pk]))
        else:
            link = format_html('<a class="text-primary-600" href="{}">Download</a>',
                               reverse("admin:core_document_download", args=[doc.pk]))
        rows.append([local_datetime(doc.created_at), doc.original_filename, doc.get_document_type_display(),
                     document_status_of(doc)[1], doc.get_upload_source_display(), link])
    table = html_table(["Uploaded", "File", "Type", "Status", "Source", ""], rows, empty="No documents.")
    if not can_upload:
        return table
    button = format_html(
        '<p class="mb-3"><a class="bg-primary-600 text-white rounded-default px-3 py-2 font-semibold inline-block" '
        'href="{}" data-testid="upload-coi">Upload a COI for this booking</a></p>', upload_url_for(booking))
    return format_html("{}{}", button, table)


@admin.register(m.COIWaiver)
class COIWaiverAdmin(ReadOnlyOpsModelAdmin):
    list_display = ["created_at", "booking", "building_role", "waived_by", "reason"]
    list_select_related = ["booking", "waived_by"]

