"""The COI review desk and the staff upload page: forms and views the document admins mix in."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode
from unfold.widgets import UnfoldAdminFileFieldWidget

from core.bookings.models import Booking
from core.common.audit import client_ip
from core.common.errors import DomainError
from core.documents.models import COI, BuildingRole, Document, DocumentType, UploadSource
from core.documents.previews import page_count, page_png
from core.documents.services import (
    coi_approve,
    coi_reject,
    coi_update_fields,
    coi_waive,
    document_download_url,
    document_upload,
)
from core.documents.services.coi import COLUMNS


class COIFieldsForm(forms.ModelForm):
    """The certificate's fields as read (or corrected): only changed ones are saved, through coi_update_fields."""

    insurer_name = forms.CharField(required=False)
    insurer_naic = forms.CharField(required=False, max_length=10)

    class Meta:
        model = COI
        fields = COLUMNS
        widgets = {"description_of_operations": forms.Textarea(attrs={"rows": 3}),
                   **{f: forms.DateInput(attrs={"type": "date"}) for f in ("certificate_date", "effective_date",
                                                                          "expiration_date")}}

    def __init__(self, *args, instance=None, **kwargs):
        super().__init__(*args, instance=instance, **kwargs)
        insurer = (instance.insurers or [{}])[0] if instance else {}
        self.fields["insurer_name"].initial = insurer.get("name", "")
        self.fields["insurer_naic"].initial = insurer.get("naic", "")

    def changes(self) -> dict:
        data = {f: self.cleaned_data[f] for f in COLUMNS if f in self.changed_data}
        if {"insurer_name", "insurer_naic"} & set(self.changed_data):
            data["insurers"] = [{"letter": "A", "name": self.cleaned_data["insurer_name"],
                                 "naic": self.cleaned_data["insurer_naic"]}]
        return data


class ReasonForm(forms.Form):
    # optional here (Approve needs none); reject and waive refuse an empty reason in the service
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=1000, required=False,
                             help_text="Required to reject or waive.")


class StaffUploadForm(forms.Form):
    booking_number = forms.CharField(max_length=20)
    document_type = forms.ChoiceField(choices=DocumentType.choices, initial=DocumentType.COI)
    building = forms.ChoiceField(choices=[("", "—"), *BuildingRole.choices], required=False)
    # Unfold's own file widget: its page script writes the chosen file's name into the nearest text input, which
    # with a plain file input was the booking number (found by the browser test of the booking desk's button).
    file = forms.FileField(widget=UnfoldAdminFileFieldWidget)

    def clean_booking_number(self):
        number = self.cleaned_data["booking_number"].strip().upper()
        booking = Booking.objects.select_related("customer").filter(booking_number=number).first()
        if booking is None:
            raise forms.ValidationError("No booking with this number.")
        self.booking = booking
        return number


def upload_url_for(booking, *, document_type: str = DocumentType.COI) -> str:
    """The staff upload page, bound to this booking (its number filled in, a certificate by default)."""
    query = urlencode({"booking": booking.booking_number, "type": document_type})
    return f"{reverse('admin:core_document_upload')}?{query}"


class COIReviewMixin:
    """COIAdmin's change page is the review desk: page images beside the fields, and the four decisions."""

    def get_urls(self):
        custom = [path("<path:object_id>/page/<int:page>.png", self.admin_site.admin_view(self.page_view),
                       name="core_coi_page")]
        return custom + super().get_urls()

    def page_view(self, request, object_id, page):
        coi = self.get_object(request, object_id)
        if coi is None or not self.has_view_permission(request, coi):
            raise Http404
        try:
            body = page_png(coi.document, page)
        except IndexError as exc:
            raise Http404 from exc
        response = HttpResponse(body, content_type="image/png")
        response["Cache-Control"] = "private, no-store"
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        coi = self.get_object(request, object_id)
        if coi is None or not self.has_view_permission(request, coi):
            raise Http404
        can_change = self.has_change_permission(request, coi)
        form, reason_form = COIFieldsForm(instance=coi), ReasonForm()
        if request.method == "POST":
            if not can_change:
                raise PermissionDenied
            decision = request.POST.get("decision", "")
            form = COIFieldsForm(request.POST, instance=COI.objects.get(pk=coi.pk)) if decision == "save" else form
            reason_form = ReasonForm(request.POST) if decision in ("reject", "waive") else reason_form
            done = self._decide(request, coi, decision, form, reason_form)
            if done:
                return HttpResponseRedirect(request.path)
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "title": f"Review certificate — {coi}",
            "coi": coi, "form": form, "reason_form": reason_form, "can_change": can_change,
            "can_waive": getattr(request.user, "is_admin_role", False),
            "pages": [reverse("admin:core_coi_page", args=[coi.pk, n]) for n in range(page_count(coi.document))],
            "rows": [(form[name], coi.extraction.get("confidence", {}).get(name)) for name in form.fields],
            "download_url": reverse("admin:core_document_download", args=[coi.document_id]),
            "history_url": reverse("admin:core_coi_history", args=[coi.pk]),
            "queue_url": reverse("admin:core_coi_changelist") + "?status__exact=pending",
        }
        return TemplateResponse(request, "ops_console/coi_review.html", context)

    def _decide(self, request, coi, decision, form, reason_form) -> bool:
        actor = request.user
        try:
            if decision == "save":
                if not form.is_valid():
                    return False
                coi_update_fields(coi=coi, data=form.changes(), actor=actor)
                message = "Fields saved and the certificate validated again."
            elif decision == "approve":
                coi_approve(coi=coi, actor=actor)
                message = "Approved."
            elif decision in ("reject", "waive"):
                if not reason_form.is_valid():
                    return False
                service = coi_reject if decision == "reject" else coi_waive
                service(coi=coi, actor=actor, reason=reason_form.cleaned_data["reason"])
                message = "Rejected." if decision == "reject" else "Waived."
            else:
                raise Http404
        except DomainError as exc:
            details = " ".join(v for values in exc.fields.values() for v in values if isinstance(v, str))
            self.message_user(request, f"{exc.message} {details}".strip(), messages.ERROR)
            return False
        self.message_user(request, message, messages.SUCCESS)
        return True


class DocumentDeskMixin:
    """DocumentAdmin's extra pages: download through a short-lived URL (audited), and staff upload."""

    def get_urls(self):
        custom = [
            path("<path:object_id>/download/", self.admin_site.admin_view(self.download_view),
                 name="core_document_download"),
            path("upload/", self.admin_site.admin_view(self.upload_view), name="core_document_upload"),
        ]
        return custom + super().get_urls()

    def download_view(self, request, object_id):
        document = self.get_object(request, object_id)
        if document is None or not self.has_view_permission(request, document):
            raise Http404
        url = document_download_url(document=document, actor=request.user, via="staff",
                                    ip_address=client_ip(request))
        return HttpResponseRedirect(url)

    def upload_view(self, request):
        if not self._has(request, "add"):
            raise PermissionDenied
        wanted_type = request.GET.get("type", "")
        form = StaffUploadForm(request.POST or None, request.FILES or None, initial={
            "booking_number": request.GET.get("booking", ""),
            "document_type": wanted_type if wanted_type in DocumentType.values else DocumentType.COI})
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                document, created = document_upload(
                    file=upload, filename=upload.name, document_type=form.cleaned_data["document_type"],
                    building_role=form.cleaned_data["building"], booking=form.booking,
                    source=UploadSource.STAFF, actor=request.user)
            except DomainError as exc:
                form.add_error("file", exc.message)
            else:
                self.message_user(request, f"{document.original_filename} {'uploaded' if created else 'was already on this booking'}.",
                                  messages.SUCCESS)
                target = (reverse("admin:core_coi_change", args=[document.coi.pk])
                          if document.document_type == DocumentType.COI else
                          reverse("admin:core_document_changelist"))
                return HttpResponseRedirect(target)
        context = {**self.admin_site.each_context(request), "opts": self.opts, "title": "Upload a document",
                   "form": form, "action_url": request.path, "submit_label": "Upload", "objects": [],
                   "description": "PDF, JPEG, PNG or HEIC up to the size limit; a certificate of insurance is "
                                  "read and checked against the booking's building.", "multipart": True}
        return TemplateResponse(request, "ops_console/action_form.html", context)


def document_status_of(document: Document) -> tuple[str, str]:
    coi = getattr(document, "coi", None) if document.document_type == DocumentType.COI else None
    return (coi.status, coi.get_status_display()) if coi else ("received", "Received")


def coi_issues(user, *, now) -> list[dict]:
    """The dashboard's "open issues" rows for certificates (core.documents.selectors.coi_dashboard)."""
    from core.documents.selectors import coi_dashboard

    if not user.has_perm("core.view_coi"):
        return []
    figures = coi_dashboard(now=now)
    queue = reverse("admin:core_coi_changelist")
    return [
        {"title": "COIs needed", "value": figures.needed_next_7_days, "hint": "moves in the next 7 days",
         "link": f"{reverse('admin:core_booking_changelist')}?coi_needed=7"},
        {"title": "Certificates expiring", "value": figures.expiring_14_days,
         "hint": "before the move or within 14 days",
         "link": f"{queue}?expiring=14"},
    ]
