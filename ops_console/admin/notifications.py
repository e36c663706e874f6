"""Communications: templates, the message log, suppressions."""

from django.contrib import admin
from unfold.contrib.filters.admin import ChoicesDropdownFilter
from unfold.decorators import display
from unfold.utils import display_for_label

from core import models as m
from core.notifications.selectors import notification_list_queryset
from ops_console.admin._common import PAYMENT_COLOURS, AwareRangeDateTimeFilter
from ops_console.base import OpsModelAdmin, ReadOnlyOpsModelAdmin
from ops_console.formatting import EMPTY, multiline
from ops_console.notifications_console import (
    DeliveryLogInline,
    EmailTemplatePreviewMixin,
    NotificationResendMixin,
    Titled,
    email_preview_frame,
    notification_title,
    template_label,
)


@admin.register(m.EmailTemplate)
class EmailTemplateAdmin(EmailTemplatePreviewMixin, OpsModelAdmin):
    list_display = ["label", "name", "subject_template", "version", "is_active", "updated_at"]

    @display(description="Notification", ordering="name")
    def label(self, obj):
        return template_label(obj)
    readonly_fields = ["version"]
    search_fields = ["name", "subject_template"]
    list_filter = ["is_active"]


@admin.register(m.Notification)
class NotificationAdmin(NotificationResendMixin, ReadOnlyOpsModelAdmin):
    list_display = ["created_at", "notification_type", "channel", "status_badge", "booking", "scheduled_for",
                    "sent_at", "retry_count"]
    list_filter = [("notification_type", ChoicesDropdownFilter), ("channel", ChoicesDropdownFilter),
                   ("status", ChoicesDropdownFilter), ("created_at", AwareRangeDateTimeFilter)]
    list_filter_submit = True
    list_select_related = ["booking"]
    search_fields = ["booking__booking_number", "provider_message_id", "subject"]
    inlines = [DeliveryLogInline]
    fieldsets = [
        ("Message", {"fields": [("notification_type", "channel", "status_label"), "recipients_text", "subject",
                                "body_text_display", "body_html_preview"]}),
        ("Delivery", {"fields": [("scheduled_for", "sent_at"), ("retry_count", "max_retries", "next_retry_at"),
                                 "last_error", "provider_message_id", "resend_of"]}),
        ("Context", {"fields": [("booking", "customer"), ("template", "template_version"), "dedupe_key"]}),
    ]

    def get_queryset(self, request):
        return notification_list_queryset()

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            title = notification_title(obj)
            context.update(original=Titled(obj, title), title=title, subtitle=title)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    @display(description="Recipients")
    def recipients_text(self, obj):
        return ", ".join(str(r) for r in obj.recipients or ()) or EMPTY

    @display(description="Text version")
    def body_text_display(self, obj):
        return multiline(obj.body_text)

    @display(description="Status")
    def status_label(self, obj):
        return display_for_label((obj.status, obj.get_status_display()), "-", PAYMENT_COLOURS)

    @display(description="HTML version")
    def body_html_preview(self, obj):
        return email_preview_frame(obj.body_html) if obj.body_html else EMPTY

    @display(description="Status", ordering="status", label=PAYMENT_COLOURS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()


@admin.register(m.Suppression)
class SuppressionAdmin(OpsModelAdmin):
    list_display = ["channel", "address", "reason", "created_at"]
    list_filter = ["channel", "reason"]
    search_fields = ["address"]
