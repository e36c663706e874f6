"""Reusable console pieces for notifications (not registered here; ops_console/admin/notifications.py wires them).

    class EmailTemplateAdmin(EmailTemplatePreviewMixin, OpsModelAdmin): ...
    class NotificationAdmin(NotificationResendMixin, ReadOnlyOpsModelAdmin):
        inlines = [DeliveryLogInline]

Every write goes through core.notifications.services; DomainErrors become messages.error.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from unfold.admin import TabularInline
from unfold.decorators import action

from core.common.errors import DomainError
from core.notifications import rendering
from core.notifications.models import DeliveryLog, EmailTemplate, Notification
from core.notifications.services import (
    email_template_form_errors,
    email_template_preview,
    email_template_save,
    email_template_send_test,
    notification_resend,
)

TEMPLATE_DIR = "ops_console/notifications"


class DeliveryLogInline(TabularInline):
    """What the providers told us about one notification, oldest first (written only by services)."""

    model = DeliveryLog
    extra = 0
    can_delete = False
    tab = True
    verbose_name_plural = "Delivery log"
    fields = readonly_fields = ["created_at", "event", "provider", "provider_event_id", "details"]
    ordering = ["created_at", "id"]

    def has_view_permission(self, request, obj=None):
        # The log is part of the notification: whoever may see the notification sees how it went.
        return request.user.has_perm("core.view_notification")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- email templates -------------------------------------------------------------------------------------

class EmailTemplateForm(forms.ModelForm):
    """Refuses templates that would not render (syntax, unknown variables) with the service's messages."""

    class Meta:
        model = EmailTemplate
        fields = ["name", "subject_template", "html_template", "text_template", "sms_template",
                  "available_variables", "from_name", "from_email", "reply_to", "is_active", "test_data"]

    def clean(self):
        cleaned = super().clean()
        candidate = EmailTemplate(pk=self.instance.pk)
        for field in EmailTemplate._meta.concrete_fields:
            if not field.primary_key:
                setattr(candidate, field.attname, getattr(self.instance, field.attname))
        for name, value in cleaned.items():
            if hasattr(candidate, name):
                setattr(candidate, name, value)
        for field, problems in email_template_form_errors(template=candidate).items():
            target = field if field in self.fields and field not in self.errors else None
            for problem in problems:
                self.add_error(target, f"{field}: {problem}" if target is None else problem)
        return cleaned


class PreviewForm(forms.Form):
    """The live preview's editor: render unsaved changes against the template's test data."""

    subject_template = forms.CharField(max_length=255)
    html_template = forms.CharField(widget=forms.Textarea(attrs={"rows": 14}))
    text_template = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}))
    sms_template = forms.CharField(required=False, max_length=320, widget=forms.Textarea(attrs={"rows": 3}))
    test_data = forms.JSONField(required=False, widget=forms.Textarea(attrs={"rows": 8}))


class EmailTemplatePreviewMixin:
    """ModelAdmin mixin: validation on save, a live preview page and a "send test to me" action."""

    form = EmailTemplateForm
    actions_detail = ["preview_template", "send_test_to_me"]

    def save_model(self, request, obj, form, change):
        email_template_save(template=obj, actor=request.user)

    def has_import_permission(self, request):
        return False  # an import would skip email_template_validate; templates ship as fixtures


    def has_send_test_permission(self, request, obj=None):
        return request.user.has_perm("core.change_emailtemplate")

    def has_preview_permission(self, request, obj=None):
        return request.user.has_perm("core.view_emailtemplate")

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("<path:object_id>/preview/", self.admin_site.admin_view(self.preview_view),
                 name=f"{prefix}_preview"),
            path("<path:object_id>/send-test/", self.admin_site.admin_view(self.send_test_view),
                 name=f"{prefix}_send_test"),
            *super().get_urls(),
        ]

    @action(description="Preview", icon="preview", permissions=["preview"])
    def preview_template(self, request, object_id):
        return HttpResponseRedirect(self._url("preview", object_id))

    @action(description="Send test to me", icon="outgoing_mail", permissions=["send_test"])
    def send_test_to_me(self, request, object_id):
        return HttpResponseRedirect(self._url("send_test", object_id))

    def _url(self, view: str, object_id) -> str:
        return reverse(f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{view}",
                       args=[object_id])

    def _template_or_404(self, request, object_id) -> EmailTemplate:
        template = self.get_object(request, object_id)
        if template is None:
            raise Http404
        return template

    def preview_view(self, request, object_id):
        """GET: the saved template rendered with its test data. POST: the same for the edited text (not saved)."""
        if not self.has_preview_permission(request):
            raise PermissionDenied
        template = self._template_or_404(request, object_id)
        candidate = template
        if request.method == "POST":
            form = PreviewForm(request.POST)
            if form.is_valid():
                candidate = EmailTemplate(pk=template.pk, name=template.name, version=template.version,
                                          **{k: v for k, v in form.cleaned_data.items() if k != "test_data"},
                                          test_data=form.cleaned_data["test_data"] or {})
        else:
            form = PreviewForm(initial={**{f: getattr(template, f) for f in rendering.TEMPLATE_FIELDS},
                                        "test_data": json.dumps(template.test_data, indent=2)})
        problems = email_template_form_errors(template=candidate) if form.is_valid() or request.method == "GET" \
            else {}
        # validation has already rendered the candidate (a failing render is one of its problems)
        preview = None if problems else email_template_preview(template=candidate)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Preview — {template.name} (v{template.version})",
            "template_obj": template,
            "form": form,
            "problems": problems,
            "preview": preview,
            "provided": sorted(rendering.PROVIDED_VARIABLES.get(template.name, ())),
            "change_url": reverse(f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_change",
                                  args=[template.pk]),
            "send_test_url": self._url("send_test", template.pk),
        }
        return TemplateResponse(request, f"{TEMPLATE_DIR}/template_preview.html", context)

    def send_test_view(self, request, object_id):
        """GET: confirm; POST: send the saved template (test data) to the signed-in user's email."""
        if not self.has_send_test_permission(request):
            raise PermissionDenied
        template = self._template_or_404(request, object_id)
        if request.method == "POST":
            try:
                notification = email_template_send_test(template=template, to=request.user.email, actor=request.user)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                level = messages.SUCCESS if notification.status == "sent" else messages.WARNING
                messages.add_message(request, level, f"Test of {template.name} to {request.user.email}: "
                                                     f"{notification.get_status_display().lower()}"
                                                     f"{' — ' + notification.last_error if notification.last_error else ''}")
            return HttpResponseRedirect(self._url("preview", template.pk))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Send a test of {template.name}",
            "question": f"Send {template.name} (v{template.version}), rendered with its test data, "
                        f"to {request.user.email or 'your email address (none set!)'}?",
            "submit_label": "Send test",
            "back_url": self._url("preview", template.pk),
        }
        return TemplateResponse(request, f"{TEMPLATE_DIR}/confirm.html", context)


# --- notifications ---------------------------------------------------------------------------------------

class NotificationResendMixin:
    """ModelAdmin mixin for Notification: "Resend" (a new, audited attempt) from the list and the detail page."""

    actions = ["resend_selected"]
    actions_detail = ["resend_notification"]

    def has_resend_permission(self, request, obj=None):
        return request.user.has_perm("core.change_notification")

    def get_urls(self):
        return [
            path("<path:object_id>/resend/", self.admin_site.admin_view(self.resend_view),
                 name=f"{self.opts.app_label}_{self.opts.model_name}_resend"),
            *super().get_urls(),
        ]

    def _resend(self, request, notification: Notification) -> Notification | None:
        if notification.booking_id is None:
            messages.error(request, f"Notification {notification.pk} has no booking to resend it for; write to the "
                                    "customer with \"Send message\" on their booking instead.")
            return None
        try:
            new = notification_resend(booking=notification.booking, notification_type=notification.notification_type,
                                      actor=request.user)
        except DomainError as exc:
            messages.error(request, f"{notification.booking}: {exc.message}")
            return None
        return new

    @action(description="Resend (new attempt)", icon="forward_to_inbox", permissions=["resend"])
    def resend_selected(self, request, queryset):
        done = [n for n in (self._resend(request, notification)
                            for notification in queryset.select_related("booking", "booking__customer"))
                if n is not None]
        if done:
            messages.success(request, f"{len(done)} notification(s) queued for resending.")

    @action(description="Resend", icon="forward_to_inbox", permissions=["resend"])
    def resend_notification(self, request, object_id):
        return HttpResponseRedirect(reverse(
            f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_resend", args=[object_id]))

    def resend_view(self, request, object_id):
        """GET: confirm; POST: create the new attempt (notification_resend) and go to it."""
        if not self.has_resend_permission(request):
            raise PermissionDenied
        notification = self.get_object(request, object_id)
        if notification is None:
            raise Http404
        change = f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_change"
        if request.method == "POST":
            new = self._resend(request, notification)
            if new is None:
                return HttpResponseRedirect(reverse(change, args=[notification.pk]))
            messages.success(request, f"Resend queued as notification {new.pk} ({new.get_status_display()}).")
            return HttpResponseRedirect(reverse(change, args=[new.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Resend notification",
            "question": f"Send the {notification.get_notification_type_display().lower()} for "
                        f"{notification.booking or 'this message'} again by email, as a new attempt?",
            "submit_label": "Resend",
            "back_url": reverse(change, args=[notification.pk]),
        }
        return TemplateResponse(request, f"{TEMPLATE_DIR}/confirm.html", context)
