"""Every model in the console, through one base class (ops_console.base.OpsModelAdmin)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from core import models as m
from ops_console.base import OpsModelAdmin, ReadOnlyOpsModelAdmin

admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(OpsModelAdmin):
    search_fields = ["name"]
    filter_horizontal = ["permissions"]


@admin.register(m.User)
class UserAdmin(DjangoUserAdmin, OpsModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = ["username", "email", "first_name", "last_name", "role", "is_active", "is_staff"]
    list_filter = ["role", "is_active", "is_staff", "groups"]
    fieldsets = (*DjangoUserAdmin.fieldsets, ("ToteTaxi", {"fields": ["role"]}))


@admin.register(m.StaffProfile)
class StaffProfileAdmin(OpsModelAdmin):
    list_display = ["employee_id", "user", "department", "hire_date", "permissions_level"]
    list_filter = ["department"]
    list_select_related = ["user"]
    search_fields = ["employee_id", "user__username", "user__first_name", "user__last_name"]
    autocomplete_fields = ["user"]


@admin.register(m.Address)
class AddressAdmin(OpsModelAdmin):
    list_display = ["line1", "line2", "city", "state", "zip_code"]
    search_fields = ["line1", "city", "zip_code"]
    list_filter = ["state"]


@admin.register(m.CustomerProfile)
class CustomerProfileAdmin(OpsModelAdmin):
    list_display = ["name", "email", "phone", "total_bookings_count", "created_at"]
    search_fields = ["name", "email", "phone"]
    readonly_fields = ["total_bookings_count", "created_from_booking", "merged_into", "created_at", "updated_at"]
    autocomplete_fields = ["preferred_addresses"]


class BookingSpecialtyItemInline(admin.TabularInline):
    model = m.BookingSpecialtyItem
    extra = 0
    can_delete = False
    readonly_fields = ["item", "quantity", "unit_price"]

    def has_add_permission(self, request, obj=None):
        return False


class BookingStatusChangeInline(admin.TabularInline):
    model = m.BookingStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "actor", "reason", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(m.Booking)
class BookingAdmin(OpsModelAdmin):
    list_display = ["booking_number", "customer", "booking_type", "pickup_date", "pickup_window", "status",
                    "total_price", "payment_status"]
    list_filter = ["status", "booking_type", "payment_status", "coi_required", "pickup_window"]
    list_select_related = ["customer"]
    search_fields = ["booking_number", "customer__name", "customer__email", "customer__phone"]
    ordering = ["-pickup_date"]
    autocomplete_fields = ["customer", "pickup_address", "dropoff_address"]
    readonly_fields = [
        "booking_number", "status", "payment_status", "base_price", "specialty_items_total", "surcharges",
        "surcharge_total", "coi_fee", "total_price", "price_breakdown", "quote", "stripe_payment_intent_id",
        "hold_expires_at", "cancelled_at", "cancellation_reason", "created_at", "updated_at",
    ]
    inlines = [BookingSpecialtyItemInline, BookingStatusChangeInline]
    exclude = ["specialty_items"]

    def has_add_permission(self, request):
        return False  # bookings are created through core services (API, or the booking desk actions)


@admin.register(m.Quote)
class QuoteAdmin(ReadOnlyOpsModelAdmin):
    list_display = ["id", "total_price", "expires_at", "created_at"]


@admin.register(m.MiniMovePackage)
class MiniMovePackageAdmin(OpsModelAdmin):
    list_display = ["name", "code", "max_items", "base_price", "coi_included", "is_active"]
    search_fields = ["name", "code"]


@admin.register(m.SpecialtyItem)
class SpecialtyItemAdmin(OpsModelAdmin):
    list_display = ["name", "code", "base_price", "requires_van_availability", "weight_limit", "is_active"]
    search_fields = ["name", "code"]


@admin.register(m.StandardDeliveryRate)
class StandardDeliveryRateAdmin(OpsModelAdmin):
    list_display = ["price_per_item", "minimum_items", "is_active"]


@admin.register(m.SurchargeRule)
class SurchargeRuleAdmin(OpsModelAdmin):
    list_display = ["name", "code", "rule_type", "amount", "is_percentage", "start_date", "end_date", "is_active"]
    list_filter = ["rule_type", "is_active"]
    search_fields = ["name", "code"]


@admin.register(m.VanSchedule)
class VanScheduleAdmin(OpsModelAdmin):
    list_display = ["date", "capacity_override", "specialty_items_available", "surcharge_override", "is_active"]
    list_filter = ["is_active", "specialty_items_available"]
    ordering = ["date"]


@admin.register(m.Payment)
class PaymentAdmin(ReadOnlyOpsModelAdmin):
    list_display = ["booking", "stripe_payment_intent_id", "amount_cents", "status", "method", "created_at"]
    list_filter = ["status", "method"]
    list_select_related = ["booking"]
    search_fields = ["stripe_payment_intent_id", "booking__booking_number"]


@admin.register(m.Refund)
class RefundAdmin(ReadOnlyOpsModelAdmin):
    list_display = ["payment", "stripe_refund_id", "amount_cents", "status", "processed_by", "created_at"]
    list_filter = ["status"]
    list_select_related = ["payment", "processed_by"]


@admin.register(m.PaymentAudit)
class PaymentAuditAdmin(ReadOnlyOpsModelAdmin):
    list_display = ["action", "booking", "payment", "user", "ip_address", "created_at"]
    list_filter = ["action"]
    list_select_related = ["booking", "payment", "user"]


@admin.register(m.ProviderEvent)
class ProviderEventAdmin(ReadOnlyOpsModelAdmin):
    list_display = ["provider", "event_type", "event_id", "received_at", "processed_at"]
    list_filter = ["provider", "event_type"]
    search_fields = ["event_id"]


@admin.register(m.ReconciliationMismatch)
class ReconciliationMismatchAdmin(ReadOnlyOpsModelAdmin):
    list_display = ["run_date", "kind", "stripe_object_id", "payment", "resolved"]
    list_filter = ["kind", "resolved"]


@admin.register(m.EmailTemplate)
class EmailTemplateAdmin(OpsModelAdmin):
    list_display = ["name", "subject_template", "version", "is_active", "updated_at"]
    search_fields = ["name", "subject_template"]


@admin.register(m.Notification)
class NotificationAdmin(ReadOnlyOpsModelAdmin):
    list_display = ["notification_type", "channel", "status", "booking", "scheduled_for", "sent_at"]
    list_filter = ["notification_type", "channel", "status"]
    list_select_related = ["booking"]


@admin.register(m.Suppression)
class SuppressionAdmin(OpsModelAdmin):
    list_display = ["channel", "address", "reason", "created_at"]
    list_filter = ["channel", "reason"]
    search_fields = ["address"]


@admin.register(m.DailyMetrics)
class DailyMetricsAdmin(ReadOnlyOpsModelAdmin):
    list_display = ["date", "bookings_created", "revenue", "refunds", "pickups", "cancellations"]
