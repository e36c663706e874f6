"""The booking desk's ModelAdmin (list, tabs, permissions, URLs) and the read-only quote admin."""

from __future__ import annotations

import datetime as dt

from django.contrib import admin
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from import_export.admin import ExportActionMixin
from unfold.contrib.filters.admin import BooleanRadioFilter, ChoicesDropdownFilter, RangeDateFilter
from unfold.decorators import action, display

from core import models as m
from core.reporting import selectors as reporting
from ops_console.activity import render_activity
from ops_console.admin._common import AwareRangeDateTimeFilter, money
from ops_console.admin.bookings.actions import BookingActionPageMixin
from ops_console.admin.bookings.changes import BookingChangeFlowMixin
from ops_console.admin.bookings.editing import BookingEditMixin
from ops_console.admin.bookings.entries import ROW_ACTIONS, BookingEntriesMixin
from ops_console.admin.bookings.listing import (
    COINeededFilter,
    WhenFilter,
    booking_ordering,
    when_requested,
)
from ops_console.admin.bookings.phone import PhoneBookingMixin
from ops_console.admin.bookings.sections import BookingSectionsMixin
from ops_console.base import OpsModelAdmin, ReadOnlyOpsModelAdmin
from ops_console.exports import StreamingExportMixin
from ops_console.formatting import EMPTY, choice_label, local_date, local_datetime
from ops_console.resources import BookingResource


@admin.register(m.Booking)
class BookingAdmin(PhoneBookingMixin, BookingEditMixin, BookingEntriesMixin, BookingChangeFlowMixin,
                   BookingActionPageMixin,
                   BookingSectionsMixin, StreamingExportMixin, OpsModelAdmin):
    resource_classes = [BookingResource]
    list_display = ["booking_number", "customer_name", "booking_type", "pickup_date", "pickup_window",
                    "status_badge", "total", "payment_badge"]
    list_display_links = ["booking_number"]
    list_filter = [
        WhenFilter,
        ("status", ChoicesDropdownFilter),
        ("booking_type", ChoicesDropdownFilter),
        ("pickup_date", RangeDateFilter),
        ("payment_status", ChoicesDropdownFilter),
        ("coi_required", BooleanRadioFilter),
        COINeededFilter,
        ("needs_attention", BooleanRadioFilter),
        ("created_at", AwareRangeDateTimeFilter),
    ]
    list_filter_submit = True
    list_select_related = ["customer"]
    search_fields = ["booking_number", "customer__name", "customer__email", "customer__phone",
                     "pickup_address__line1", "dropoff_address__line1"]
    search_help_text = "Booking number, customer name/email/phone, or street address."
    editable_fields = ["notes", "needs_attention", "attention_reason"]
    # One row of tabs: the status history, notes and specialty lines are tables inside the tabs, not inlines
    # (Unfold puts tabbed inlines on a second row above the fieldset tabs).
    fieldsets = [
        ("Summary", {"classes": ["tab"], "fields": [
            ("booking_number", "status_label", "payment_label"),
            ("booking_type", "package", "item_count"),
            ("pickup_date", "pickup_window", "coi_required_display"),
            "notes", ("needs_attention", "attention_reason", "attention_due"),
            ("source", "hold_expires_at", "created_at", "updated_at"),
            ("cancelled_at", "cancellation_reason"), "tracking_link",
        ]}),
        ("Customer", {"classes": ["tab"], "fields": ["customer_link", "customer_email", "customer_phone",
                                                      "customer_bookings"]}),
        ("Addresses", {"classes": ["tab"], "fields": ["pickup_address_display", "dropoff_address_display"]}),
        ("Price", {"classes": ["tab"], "fields": ["price_table", "specialty_table", "quote"]}),
        ("Payments & refunds", {"classes": ["tab"], "fields": ["payments_table", "stripe_payment_intent_id"]}),
        ("Notifications", {"classes": ["tab"], "fields": ["notifications_table"]}),
        ("Status & notes", {"classes": ["tab"], "fields": ["status_history_table", "staff_notes_table"]}),
        ("Changes", {"classes": ["tab"], "fields": ["change_history_table"]}),
        ("Documents", {"classes": ["tab"], "fields": ["documents_table"]}),
        ("Delivery", {"classes": ["tab"], "fields": ["delivery_table"]}),
        ("History", {"classes": ["tab"], "fields": ["activity_link"]}),
    ]
    actions = ["bulk_schedule", "bulk_start", "bulk_complete", "bulk_cancel", "bulk_note", "bulk_resend",
               "bulk_offline_payment", "bulk_refund", "export_selected"]
    # The row menu keeps what the desk does one booking at a time from the list; every other action is in the
    # booking's header menus (actions_detail) and, except edit, a bulk action. Each row carries its menu, so a
    # short one keeps the list light (see ops_list.booking_row_actions).
    actions_row = [*(f"row_{name}" for name in ROW_ACTIONS), "row_upload_coi"]
    # Three menus, so the header keeps room for the breadcrumb and the booking number.
    actions_detail = [
        {"title": "Status", "icon": "swap_horiz",
         "items": ["detail_schedule", "detail_start", "detail_complete", "detail_cancel"]},
        {"title": "Change", "icon": "event_repeat",
         "items": ["detail_reschedule", "detail_edit", "detail_cancel_refund"]},
        {"title": "Customer", "icon": "forum", "items": ["detail_note", "detail_message", "detail_resend"]},
        {"title": "Money", "icon": "payments", "items": ["detail_pay_link", "detail_offline_payment", "detail_refund"]},
    ]
    actions_list = ["new_phone_booking", "export_all_streamed"]

    # --- queryset, ordering, permissions ---------------------------------------------------------------
    def get_queryset(self, request):
        qs = reporting.booking_admin_queryset()
        if request.resolver_match and request.resolver_match.url_name == "core_booking_change":
            qs = qs.select_related("dropoff_address", "package", "quote")
        return qs

    def get_object(self, request, object_id, from_field=None):
        """Once per request: the change form and its action menu (get_actions_detail) both ask for the booking."""
        cache = request.__dict__.setdefault("_ops_booking_objects", {})
        key = (str(object_id), from_field)
        if request.method != "GET" or key not in cache:
            obj = super().get_object(request, object_id, from_field)
            if obj is not None:  # display callables see only the booking: carry what this user may do on it
                obj.console_can_upload_documents = request.user.has_perm("core.add_document")
            cache[key] = obj
        return cache[key]

    def get_ordering(self, request):
        return booking_ordering(when_requested(request))

    def get_readonly_fields(self, request, obj=None):
        names = [f for row in self._fieldset_fields() for f in (row if isinstance(row, tuple) else (row,))]
        return [n for n in names if n not in self.editable_fields]

    def _fieldset_fields(self):
        return [f for _name, opts in self.fieldsets for f in opts["fields"]]

    def has_add_permission(self, request):
        return False  # bookings are created through core services (API or phone booking)

    def has_delete_permission(self, request, obj=None):
        return False  # bookings are cancelled, never deleted

    def has_import_permission(self, request):
        return False  # a booking import would bypass pricing, capacity and numbering

    def has_operate_permission(self, request, obj=None):
        return request.user.has_perm("core.change_booking")

    def has_note_permission(self, request, obj=None):
        return request.user.has_perm("core.add_bookingnote")

    def has_resend_permission(self, request, obj=None):
        return request.user.has_perm("core.change_notification")  # same rule as the message log's resend

    def has_upload_document_permission(self, request, obj=None):
        return request.user.has_perm("core.add_document")  # the upload page's own rule

    def has_message_permission(self, request, obj=None):
        return request.user.has_perm("core.add_notification")

    def has_offline_payment_permission(self, request, obj=None):
        return request.user.has_perm("core.add_payment")

    def has_refund_permission(self, request, obj=None):
        user = request.user
        return bool(getattr(user, "is_admin_role", False)) and user.has_perm("core.issue_refund")

    # --- URLs ------------------------------------------------------------------------------------------
    def get_urls(self):
        custom = [
            path("action/<str:name>/", self.admin_site.admin_view(self.action_view), name="core_booking_action"),
            path("<path:object_id>/activity/", self.admin_site.admin_view(self.activity_view),
                 name="core_booking_activity"),
        ]
        return custom + super().get_urls()

    def activity_view(self, request, object_id):
        booking = self.get_object(request, object_id)
        if booking is None or not self.has_view_permission(request, booking):
            raise Http404
        return render_activity(request, self, title=f"Activity — {booking.booking_number}",
                               entries=reporting.booking_activity(booking),
                               back_url=reverse("admin:core_booking_change", args=[booking.pk]),
                               back_label=booking.booking_number)

    # --- list actions ----------------------------------------------------------------------------------
    @action(description="Export this list (CSV, streamed)", icon="download", permissions=["export"])
    def export_all_streamed(self, request):
        url = reverse("admin:core_booking_export_stream")
        query = request.GET.urlencode()
        return HttpResponseRedirect(f"{url}?{query}" if query else url)

    @action(description="Export selected", icon="download", permissions=["export"])
    def export_selected(self, request, queryset):
        return ExportActionMixin.export_admin_action(self, request, queryset)


@admin.register(m.Quote)
class QuoteAdmin(ReadOnlyOpsModelAdmin):
    """Prices given by the API's preview; a quote is honoured until it expires, and may become a booking."""

    list_display = ["created_at", "quoted_type", "quoted_pickup", "total", "expiry", "converted"]
    search_fields = ["id"]
    search_help_text = "Quote id."

    def get_queryset(self, request):
        return reporting.quote_admin_queryset()

    def has_export_permission(self, request):
        return False

    @display(description="Booking type")
    def quoted_type(self, obj):
        return choice_label(m.Booking, "booking_type", (obj.request or {}).get("booking_type"))

    @display(description="Pickup date")
    def quoted_pickup(self, obj):
        day = (obj.request or {}).get("pickup_date")
        return local_date(dt.date.fromisoformat(day)) if day else EMPTY

    @display(description="Total", ordering="total_price")
    def total(self, obj):
        return money(obj.total_price)

    @display(description="Expires", ordering="expires_at", label={"expired": "danger", "open": "info"})
    def expiry(self, obj):
        state = "expired" if obj.expires_at <= timezone.now() else "open"
        return state, f"{'Expired' if state == 'expired' else 'Open until'} {local_datetime(obj.expires_at)}"

    @display(description="Booked as")
    def converted(self, obj):
        if not obj.booking_number:
            return "Not booked"
        return obj.booking_number
