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
from ops_console.activity import OBJECT_TEXT
from ops_console.admin._common import PAYMENT_COLOURS, AwareRangeDateTimeFilter, cents
from ops_console.base import ReadOnlyOpsModelAdmin
from ops_console.export_resources import RefundResource
from ops_console.formatting import humanize_code
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
    list_display = ["created_at", "booking_ref", "amount", "reason_label", "status_badge", "processed_by",
                    "stripe_refund_id"]
    list_filter = [("status", ChoicesDropdownFilter), ("created_at", AwareRangeDateTimeFilter)]
    list_filter_submit = True
    list_select_related = ["payment__booking", "processed_by"]
    search_fields = ["stripe_refund_id", "payment__booking__booking_number"]

    @display(description="Booking")
    def booking_ref(self, obj):
        return _booking_link(obj.payment.booking)

    @display(description="Reason", ordering="reason")
    def reason_label(self, obj):
        return humanize_code(obj.reason)

    @display(description="Amount", ordering="amount_cents")
    def amount(self, obj):
        return cents(obj.amount_cents)

    @display(description="Status", ordering="status", label=PAYMENT_COLOURS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()


class AuditActionFilter(admin.SimpleListFilter):
    """The audit's actions in words (the stored codes are free-form, so the choices come from the data)."""

    title = "action"
    parameter_name = "action"

    def lookups(self, request, model_admin):
        codes = model_admin.get_queryset(request).order_by("action").values_list("action", flat=True).distinct()
        return [(code, humanize_code(code)) for code in codes]

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(m.PaymentAudit)
class PaymentAuditAdmin(ReadOnlyOpsModelAdmin):
    list_display = ["created_at", "action_label", "booking", "payment_text", "who", "ip"]
    list_filter = [AuditActionFilter]
    list_select_related = ["booking", "payment", "user"]
    search_fields = ["booking__booking_number", "action"]

    @display(description="Action", ordering="action")
    def action_label(self, obj):
        return humanize_code(obj.action)

    @display(description="By", ordering="user")
    def who(self, obj):
        return obj.user or "System"

    @display(description="Payment")
    def payment_text(self, obj):
        return OBJECT_TEXT[m.Payment](obj.payment) if obj.payment_id else "—"

    @display(description="IP address")
    def ip(self, obj):
        return obj.ip_address or "—"


@admin.register(m.Dispute)
class DisputeAdmin(ReadOnlyOpsModelAdmin):
    """Stripe disputes as the webhooks left them (opened, won, lost): read-only, Finance and Admin."""

    list_display = ["opened_at", "stripe_dispute_id", "booking_link", "amount", "reason", "outcome", "closed_at",
                    "dispute_fee"]
    list_filter = ["outcome"]
    list_select_related = ["payment__booking"]
    search_fields = ["stripe_dispute_id", "payment__booking__booking_number"]
    show_full_result_count = False

    @display(description="Booking", ordering="payment__booking__booking_number")
    def booking_link(self, obj):
        booking = obj.payment.booking
        return format_html('<a href="{}">{}</a>', reverse("admin:core_booking_change", args=[booking.pk]),
                           booking.booking_number)

    @display(description="Amount", ordering="amount_cents")
    def amount(self, obj):
        return cents(obj.amount_cents)

    @display(description="Stripe dispute fee")
    def dispute_fee(self, obj):
        if not obj.fee_cents:
            return "—"
        return f"{cents(obj.fee_cents)} (returned)" if obj.fee_returned_cents >= obj.fee_cents else cents(obj.fee_cents)


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
