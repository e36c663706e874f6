"""The booking desk's buttons, declared one by one so each can be found by name: a row button and a detail
button open the action's confirmation page for one booking, a bulk action for the selected ones. Every action has
a detail button; the list's row menu has only the one-booking-at-a-time ones (ROW_ACTIONS): the status changes,
resend, offline payment and refund are bulk actions there, and edit is on the booking's page only. Sending a
message has no bulk form: each message is written to one customer."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from unfold.decorators import action

from ops_console.admin.bookings.actions import (
    ACTIONS,
    CANCEL,
    CANCEL_REFUND,
    COMPLETE,
    EDIT,
    MAX_BULK,
    MESSAGE,
    NOTE,
    OFFLINE_PAYMENT,
    REFUND,
    RESCHEDULE,
    RESEND,
    SCHEDULE,
    START,
    BookingAction,
    refusal,
)

# The list's row menu (plus "Upload a COI"): what the desk does to one booking at a time from the list.
ROW_ACTIONS = ("message", "pay_link", "reschedule", "cancel_refund", "note")


def desk_action(spec: BookingAction, kind: str):
    """Unfold's @action carrying the spec's label, icon and permission; kind is row, detail or bulk."""
    return action(description=spec.label, permissions=[spec.permission], icon=spec.icon,
                  url_path=f"{kind}-{spec.name.replace('_', '-')}")


def list_with_filters(request) -> str:
    """The booking list as the user left it (filters, search, page): the page a row button was clicked on."""
    changelist = reverse("admin:core_booking_changelist")
    referer = request.META.get("HTTP_REFERER", "")
    if url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        parts = urlsplit(referer)
        if parts.path == changelist:
            return f"{parts.path}?{parts.query}" if parts.query else parts.path
    return changelist


class BookingEntriesMixin:
    def get_actions_detail(self, request, object_id):
        """Only the actions the booking's status allows (the confirmation page still explains a refusal)."""
        actions = super().get_actions_detail(request, object_id)
        booking = self.get_object(request, object_id)
        if booking is None:
            return actions
        return [a for a in actions
                if not ((spec := ACTIONS.get(a.method.__name__.removeprefix("detail_"))) and refusal(spec, booking))]

    @action(description="Upload a COI", icon="upload_file", permissions=["upload_document"],
            url_path="row-upload-coi")
    def row_upload_coi(self, request, object_id):
        """To the staff upload page, bound to this booking (the certificate issued for its building)."""
        from core.bookings.models import Booking
        from ops_console.documents_console import upload_url_for

        return HttpResponseRedirect(upload_url_for(Booking.objects.only("booking_number").get(pk=object_id)))

    def open_row(self, request, spec: BookingAction, object_id):
        next_url = request.GET.get("next") or list_with_filters(request)
        return HttpResponseRedirect(self.action_url(spec.name, [object_id], next_url))

    def open_detail(self, request, spec: BookingAction, object_id):
        next_url = reverse("admin:core_booking_change", args=[object_id])
        return HttpResponseRedirect(self.action_url(spec.name, [object_id], next_url))

    def open_bulk(self, request, spec: BookingAction, queryset):
        return self.action_view(request, spec.name, ids=list(queryset.values_list("pk", flat=True)[:MAX_BULK]))

    # --- row buttons -----------------------------------------------------------------------------
    @desk_action(RESCHEDULE, "row")
    def row_reschedule(self, request, object_id):
        return self.open_row(request, RESCHEDULE, object_id)

    @desk_action(CANCEL_REFUND, "row")
    def row_cancel_refund(self, request, object_id):
        return self.open_row(request, CANCEL_REFUND, object_id)

    @desk_action(NOTE, "row")
    def row_note(self, request, object_id):
        return self.open_row(request, NOTE, object_id)

    @desk_action(MESSAGE, "row")
    def row_message(self, request, object_id):
        return self.open_row(request, MESSAGE, object_id)

    # --- detail buttons --------------------------------------------------------------------------
    @desk_action(SCHEDULE, "detail")
    def detail_schedule(self, request, object_id):
        return self.open_detail(request, SCHEDULE, object_id)

    @desk_action(START, "detail")
    def detail_start(self, request, object_id):
        return self.open_detail(request, START, object_id)

    @desk_action(COMPLETE, "detail")
    def detail_complete(self, request, object_id):
        return self.open_detail(request, COMPLETE, object_id)

    @desk_action(CANCEL, "detail")
    def detail_cancel(self, request, object_id):
        return self.open_detail(request, CANCEL, object_id)

    @desk_action(RESCHEDULE, "detail")
    def detail_reschedule(self, request, object_id):
        return self.open_detail(request, RESCHEDULE, object_id)

    @desk_action(EDIT, "detail")
    def detail_edit(self, request, object_id):
        return self.open_detail(request, EDIT, object_id)

    @desk_action(CANCEL_REFUND, "detail")
    def detail_cancel_refund(self, request, object_id):
        return self.open_detail(request, CANCEL_REFUND, object_id)

    @desk_action(NOTE, "detail")
    def detail_note(self, request, object_id):
        return self.open_detail(request, NOTE, object_id)

    @desk_action(RESEND, "detail")
    def detail_resend(self, request, object_id):
        return self.open_detail(request, RESEND, object_id)

    @desk_action(MESSAGE, "detail")
    def detail_message(self, request, object_id):
        return self.open_detail(request, MESSAGE, object_id)

    @desk_action(OFFLINE_PAYMENT, "detail")
    def detail_offline_payment(self, request, object_id):
        return self.open_detail(request, OFFLINE_PAYMENT, object_id)

    @desk_action(REFUND, "detail")
    def detail_refund(self, request, object_id):
        return self.open_detail(request, REFUND, object_id)

    # --- bulk buttons ----------------------------------------------------------------------------
    @desk_action(SCHEDULE, "bulk")
    def bulk_schedule(self, request, queryset):
        return self.open_bulk(request, SCHEDULE, queryset)

    @desk_action(START, "bulk")
    def bulk_start(self, request, queryset):
        return self.open_bulk(request, START, queryset)

    @desk_action(COMPLETE, "bulk")
    def bulk_complete(self, request, queryset):
        return self.open_bulk(request, COMPLETE, queryset)

    @desk_action(CANCEL, "bulk")
    def bulk_cancel(self, request, queryset):
        return self.open_bulk(request, CANCEL, queryset)

    @desk_action(NOTE, "bulk")
    def bulk_note(self, request, queryset):
        return self.open_bulk(request, NOTE, queryset)

    @desk_action(RESEND, "bulk")
    def bulk_resend(self, request, queryset):
        return self.open_bulk(request, RESEND, queryset)

    @desk_action(OFFLINE_PAYMENT, "bulk")
    def bulk_offline_payment(self, request, queryset):
        return self.open_bulk(request, OFFLINE_PAYMENT, queryset)

    @desk_action(REFUND, "bulk")
    def bulk_refund(self, request, queryset):
        return self.open_bulk(request, REFUND, queryset)
