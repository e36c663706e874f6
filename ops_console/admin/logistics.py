"""Logistics in the console: the dispatch board (a day's legs, with actions), legs, events, proof, drift."""

from __future__ import annotations

import datetime as dt

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.views.decorators.http import require_POST
from unfold.contrib.filters.admin import ChoicesDropdownFilter
from unfold.decorators import action, display

from core import models as m
from core.bookings.models import Booking
from core.common.errors import DomainError
from core.logistics import services
from core.logistics.errors import DispatchNotConfigured
from core.logistics.models import FINAL_STATUSES, LegStatus
from core.logistics.proof import proof_url
from core.logistics.selectors import dispatch_board, logistics_issue_counts, paid_not_dispatched
from ops_console.admin._common import html_table
from ops_console.base import ReadOnlyOpsModelAdmin
from ops_console.formatting import EMPTY, local_datetime

LEG_COLOURS = {"created": "info", "assigned": "info", "in_progress": "warning", "completed": "success",
               "failed": "danger", "cancelled": "danger"}
ONFLEET_TASK_URL = "https://onfleet.com/dashboard#/manage?open=taskEditView&taskEditViewId={}"
LOCAL_TARGETS = (LegStatus.ASSIGNED, LegStatus.IN_PROGRESS, LegStatus.COMPLETED, LegStatus.FAILED)


def _mode() -> str:
    try:
        return services.dispatch_mode()
    except DispatchNotConfigured:
        return "not configured"


def booking_delivery_table(booking) -> str:
    """The booking's Delivery tab: its legs and their proof (links through the console, never Onfleet's)."""
    rows = []
    for leg in booking.delivery_tasks.prefetch_related("proofs").order_by("kind"):
        links = [format_html('<a class="text-primary-600" href="{}">{}</a>',
                             reverse("admin:core_deliverytask_proof", args=[p.pk]), p.get_kind_display())
                 for p in leg.proofs.all()]
        rows.append([leg.get_kind_display(), leg.get_status_display(), local_datetime(leg.window_start),
                     leg.driver_name or EMPTY, local_datetime(leg.eta) if leg.eta else EMPTY,
                     local_datetime(leg.completed_at) if leg.completed_at else EMPTY,
                     leg.onfleet_short_id or EMPTY, leg.failure_reason or EMPTY,
                     format_html_join(" · ", "{}", ((link,) for link in links)) if links else EMPTY])
    return html_table(["Leg", "Status", "Window", "Driver", "ETA", "Completed", "Onfleet", "Failure", "Proof"],
                      rows, empty="Not dispatched yet.")


@admin.register(m.DeliveryTask)
class DeliveryTaskAdmin(ReadOnlyOpsModelAdmin):
    list_display = ["window_start", "booking_ref", "kind", "status_badge", "driver_name", "eta", "onfleet_short_id",
                    "dispatch_error"]
    list_filter = [("status", ChoicesDropdownFilter), ("kind", ChoicesDropdownFilter), "local_only"]
    list_filter_submit = True
    list_select_related = ["booking"]
    search_fields = ["booking__booking_number", "onfleet_task_id", "onfleet_short_id"]
    # written only by the logistics services: every field is shown, none is a form field
    fields = readonly_fields = [
        "booking", "kind", "status", "window_start", "window_end", "address", "contact_name", "contact_phone",
        "special_instructions", "access_code", "driver_name", "driver_phone", "eta", "assigned_at", "started_at",
        "completed_at", "failure_reason", "notes", "tracking_url", "onfleet_task_id", "onfleet_short_id",
        "local_only", "dispatch_pending", "dispatch_attempts", "dispatch_error", "proof_pending", "last_event_at"]

    @display(description="Booking", ordering="booking__booking_number")
    def booking_ref(self, obj):
        return format_html('<a class="text-primary-600" href="{}">{}</a>',
                           reverse("admin:core_booking_change", args=[obj.booking_id]), obj.booking.booking_number)

    @display(description="Status", ordering="status", label=LEG_COLOURS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    def get_urls(self):
        return [
            path("board/", self.admin_site.admin_view(self.board_view), name="core_deliverytask_board"),
            path("board/action/", self.admin_site.admin_view(require_POST(self.board_action)),
                 name="core_deliverytask_board_action"),
            path("proof/<int:proof_id>/", self.admin_site.admin_view(self.proof_view),
                 name="core_deliverytask_proof"),
            *super().get_urls(),
        ]

    def _can_act(self, request) -> bool:
        return request.user.has_perm("core.change_deliverytask")

    def board_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        tomorrow = timezone.localdate() + dt.timedelta(days=1)
        try:
            day = dt.date.fromisoformat(request.GET.get("day") or tomorrow.isoformat())
        except ValueError:
            self.message_user(request, "Enter the day as YYYY-MM-DD.", messages.ERROR)
            day = tomorrow
        legs = dispatch_board(day=day)
        for leg in legs:
            leg.onfleet_link = ONFLEET_TASK_URL.format(leg.onfleet_task_id) if leg.onfleet_task_id else ""
        waiting = list(paid_not_dispatched(today=day).filter(pickup_date=day).select_related("customer"))
        context = {**self.admin_site.each_context(request), "opts": self.opts, "title": f"Dispatch board — {day:%a %b %-d}",
                   "day": day, "previous": day - dt.timedelta(days=1), "next": day + dt.timedelta(days=1),
                   "legs": legs, "waiting": waiting, "mode": _mode(), "can_act": self._can_act(request),
                   "local_targets": LOCAL_TARGETS, "final": FINAL_STATUSES}
        return TemplateResponse(request, "ops_console/dispatch_board.html", context)

    def board_action(self, request):
        if not self._can_act(request):
            raise PermissionDenied
        name, back = request.POST.get("action", ""), reverse("admin:core_deliverytask_board")
        day = request.POST.get("day", "")
        if day:
            back += "?" + urlencode({"day": day})
        try:
            message = self._act(request, name)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(back)

    def _act(self, request, name: str) -> str:
        user = request.user
        if name in ("dispatch", "cancel"):
            booking = get_object_or_404(Booking, pk=request.POST.get("booking"))
            if name == "dispatch":
                services.dispatch_request(booking=booking, actor=user)
                return f"{booking.booking_number}: dispatch queued."
            count = services.dispatch_cancel(booking=booking, actor=user)
            return f"{booking.booking_number}: {count} open task(s) cancelled."
        leg = get_object_or_404(m.DeliveryTask.objects.select_related("booking"), pk=request.POST.get("leg"))
        if name == "redispatch":
            services.redispatch_leg(leg=leg, actor=user)
            return f"{leg.booking.booking_number} {leg.get_kind_display().lower()}: dispatched again."
        if name == "move" and request.POST.get("to") in LOCAL_TARGETS:
            services.leg_local_move(leg=leg, to_status=request.POST["to"], actor=user,
                                    driver_name=request.POST.get("driver", "")[:200],
                                    note=request.POST.get("note", "")[:2000])
            return f"{leg.booking.booking_number} {leg.get_kind_display().lower()}: {request.POST['to']}."
        raise Http404

    def proof_view(self, request, proof_id: int):
        """Staff only, through the console: S3 answers a presigned URL, local files are streamed from here."""
        if not request.user.has_perm("core.view_proofofdelivery"):
            raise PermissionDenied
        proof = get_object_or_404(m.ProofOfDelivery, pk=proof_id)
        url = proof_url(proof)
        if url.startswith(("http://", "https://")):
            return HttpResponseRedirect(url)
        return FileResponse(proof.file.open("rb"), content_type=proof.content_type or "application/octet-stream")


@admin.register(m.TrackingUpdate)
class TrackingUpdateAdmin(ReadOnlyOpsModelAdmin):
    list_display = ["event_time", "trigger_name", "onfleet_task_id", "delivery_task", "processed_at",
                    "processing_error"]
    list_filter = ["trigger_name"]
    list_select_related = ["delivery_task"]
    search_fields = ["onfleet_task_id", "dedupe_key"]


@admin.register(m.DispatchMismatch)
class DispatchMismatchAdmin(ReadOnlyOpsModelAdmin):
    list_display = ["run_date", "kind", "key", "delivery_task", "details", "resolved", "resolved_by"]
    list_filter = [("kind", ChoicesDropdownFilter), "resolved"]
    list_select_related = ["delivery_task", "resolved_by"]
    actions = ["resolve"]

    @action(description="Mark resolved", permissions=["resolve"])
    def resolve(self, request, queryset):
        try:
            for mismatch in queryset:
                services.dispatch_mismatch_resolve(mismatch=mismatch, actor=request.user)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)

    def has_resolve_permission(self, request):
        return request.user.has_perm("core.change_dispatchmismatch")


def logistics_issues(user, today: dt.date) -> list[dict]:
    """The dashboard's delivery issues: failed legs, drift to resolve, paid bookings not dispatched."""
    if not user.has_perm("core.view_deliverytask"):
        return []
    counts = logistics_issue_counts(today=today)
    board = reverse("admin:core_deliverytask_board")
    return [
        {"title": "Failed deliveries", "value": counts["failed_legs"], "hint": "re-dispatch or call",
         "link": reverse("admin:core_deliverytask_changelist") + "?" + urlencode({"status__exact": "failed"})},
        {"title": "Dispatch drift", "value": counts["drift"], "hint": "Onfleet ≠ ours",
         "link": reverse("admin:core_dispatchmismatch_changelist") + "?resolved__exact=0"
         if user.has_perm("core.view_dispatchmismatch") else ""},
        {"title": "Paid, not dispatched", "value": counts["not_dispatched"], "hint": "from today on",
         "link": board},
    ]
