"""Payments & refunds: read-only records written by the payments services."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from unfold.contrib.filters.admin import ChoicesDropdownFilter
from unfold.decorators import action, display

from core import models as m
from core.common.errors import DomainError
from core.payments.selectors import reconciliation_mismatch_list
from core.payments.services import reconciliation_mismatch_resolve
from ops_console.admin._common import PAYMENT_COLOURS, AwareRangeDateTimeFilter, cents
from ops_console.base import ReadOnlyOpsModelAdmin
from ops_console.export_resources import RefundResource
from ops_console.resources import PaymentResource


def _booking_link(booking):
    if booking is None:
        return "—"
    return format_html('<a class="text-primary-600" href="{}">{}</a>',
                       reverse("admin:core_booking_change", args=[booking.pk]), booking.booking_number)


@admin.register(m.Payment)
class PaymentAdmin(ReadOnlyOpsModelAdmin):
    resource_classes = [PaymentResource]
    list_display = ["created_at", "booking_ref", "method", "amount", "status_badge", "refunded",
                    "stripe_payment_intent_id", "recorded_by"]
    list_filter = [("status", ChoicesDropdownFilter), ("method", ChoicesDropdownFilter),
                   ("created_at", AwareRangeDateTimeFilter)]
    list_filter_submit = True
    list_select_related = ["booking", "recorded_by"]
    search_fields = ["stripe_payment_intent_id", "stripe_charge_id", "booking__booking_number", "reference"]

    @display(description="Booking", ordering="booking__booking_number")
    def booking_ref(self, obj):
        return _booking_link(obj.booking)

    @display(description="Amount", ordering="amount_cents")
    def amount(self, obj):
        return cents(obj.amount_cents)

    @display(description="Refunded", ordering="refunded_cents")
    def refunded(self, obj):
        return cents(obj.refunded_cents)

    @display(description="Status", ordering="status", label=PAYMENT_COLOURS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()


@admin.register(m.Refund)
class RefundAdmin(ReadOnlyOpsModelAdmin):
    resource_classes = [RefundResource]
    list_display = ["created_at", "booking_ref", "amount", "reason", "status_badge", "processed_by",
                    "stripe_refund_id"]
    list_filter = [("status", ChoicesDropdownFilter), ("created_at", AwareRangeDateTimeFilter)]
    list_filter_submit = True
    list_select_related = ["payment__booking", "processed_by"]
    search_fields = ["stripe_refund_id", "payment__booking__booking_number"]

    @display(description="Booking")
    def booking_ref(self, obj):
        return _booking_link(obj.payment.booking)

    @display(description="Amount", ordering="amount_cents")
    def amount(self, obj):
        return cents(obj.amount_cents)

    @display(description="Status", ordering="status", label=PAYMENT_COLOURS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()


@admin.register(m.PaymentAudit)
class PaymentAuditAdmin(ReadOnlyOpsModelAdmin):
    list_display = ["created_at", "action", "booking", "payment", "user", "ip_address"]
    list_filter = ["action"]
    list_select_related = ["booking", "payment", "user"]
    search_fields = ["booking__booking_number", "action"]


@admin.register(m.ProviderEvent)
class ProviderEventAdmin(ReadOnlyOpsModelAdmin):
    list_display = ["provider", "event_type", "event_id", "received_at", "processed_at", "attempts"]
    list_filter = ["provider", "event_type"]
    search_fields = ["event_id"]


@admin.register(m.ReconciliationMismatch)
class ReconciliationMismatchAdmin(ReadOnlyOpsModelAdmin):
    list_display = ["run_date", "kind", "stripe_object_id", "payment", "resolved", "resolved_by"]
    list_filter = ["kind", "resolved"]
    actions = ["mark_resolved"]

    def get_queryset(self, request):
        return reconciliation_mismatch_list(resolved=None)

    def has_resolve_permission(self, request, obj=None):
        return request.user.has_perm("core.change_reconciliationmismatch")

    @action(description="Mark resolved", icon="task_alt", permissions=["resolve"])
    def mark_resolved(self, request, queryset):
        done = 0
        for mismatch in queryset.filter(resolved=False):
            try:
                reconciliation_mismatch_resolve(mismatch=mismatch, actor=request.user, note="resolved in the console")
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{mismatch.kind} {mismatch.stripe_object_id}: {exc.message}",
                                  messages.ERROR)
        self.message_user(request, f"{done} difference(s) marked resolved.", messages.SUCCESS)
