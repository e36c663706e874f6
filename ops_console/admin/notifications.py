"""Communications: templates, the message log, suppressions."""

from django.contrib import admin
from unfold.contrib.filters.admin import ChoicesDropdownFilter
from unfold.decorators import display

from core import models as m
from core.notifications.selectors import notification_list_queryset
from ops_console.admin._common import PAYMENT_COLOURS, AwareRangeDateTimeFilter
from ops_console.base import OpsModelAdmin, ReadOnlyOpsModelAdmin
from ops_console.notifications_console import (
    DeliveryLogInline,
    EmailTemplatePreviewMixin,
    NotificationResendMixin,
)


@admin.register(m.EmailTemplate)
class EmailTemplateAdmin(EmailTemplatePreviewMixin, OpsModelAdmin):
    list_display = ["name", "subject_template", "version", "is_active", "updated_at"]
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

    def get_queryset(self, request):
        return notification_list_queryset()

    @display(description="Status", ordering="status", label=PAYMENT_COLOURS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()


@admin.register(m.Suppression)
class SuppressionAdmin(OpsModelAdmin):
    list_display = ["channel", "address", "reason", "created_at"]
    list_filter = ["channel", "reason"]
    search_fields = ["address"]
