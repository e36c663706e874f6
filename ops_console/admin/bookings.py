"""The booking desk: list, tabs, and actions that call core services (never the ORM) for every change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, F, When
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from import_export.admin import ExportActionMixin
from unfold.contrib.filters.admin import (
    BooleanRadioFilter,
    ChoicesDropdownFilter,
    RangeDateFilter,
)
from unfold.decorators import action, display
from unfold.utils import display_for_label

from core import models as m
from core.bookings.models import BookingStatus
from core.bookings.services import booking_add_note, booking_cancel, booking_transition
from core.common.audit import client_ip
from core.common.errors import DomainError
from core.common.money import to_cents
from core.notifications.selectors import booking_notifications
from core.payments.selectors import payment_list_for_booking, payment_refundable_cents
from core.reporting import selectors as reporting
from ops_console import forms as ops_forms
from ops_console.admin._common import (
    PAYMENT_COLOURS,
    STATUS_COLOURS,
    AwareRangeDateTimeFilter,
    cents,
    html_table,
    lazy_service,
    money,
    render_action_page,
    safe_next,
)
from ops_console.admin.logistics import DeliveryTaskInline
from ops_console.base import OpsModelAdmin, ReadOnlyOpsModelAdmin, ReadOnlyTabularInline
from ops_console.exports import StreamingExportMixin
from ops_console.resources import BookingResource

MAX_BULK = 500
NOT_AVAILABLE = "{label} is not available yet: the core service {service} has not been installed."


@dataclass(frozen=True)
class BookingAction:
    name: str
    label: str
    permission: str  # has_<permission>_permission on the admin
    icon: str
    form: type[forms.Form] = ops_forms.ConfirmForm
    service: str = ""  # dotted path of a core service that may not exist yet
    single: bool = False  # needs one booking (refund, offline payment)
    description: str = ""


ACTIONS: dict[str, BookingAction] = {a.name: a for a in (
    BookingAction("schedule", "Mark scheduled", "operate", "event_available",
                  description="Paid bookings move to scheduled."),
    BookingAction("start", "Mark in progress", "operate", "local_shipping",
                  description="Scheduled bookings move to in progress."),
    BookingAction("complete", "Mark completed", "operate", "task_alt",
                  description="Bookings in progress move to completed."),
    BookingAction("cancel", "Cancel booking", "operate", "cancel", form=ops_forms.CancelForm,
                  description="Cancelled bookings free their slot; refunds are issued separately."),
    BookingAction("note", "Add staff note", "note", "sticky_note_2", form=ops_forms.NoteForm),
    BookingAction("resend", "Resend confirmation", "resend", "forward_to_inbox",
                  service="core.notifications.services.notification_resend",
                  description="Sends the booking confirmation again to the customer."),
    BookingAction("offline_payment", "Record offline payment", "offline_payment", "point_of_sale",
                  form=ops_forms.OfflinePaymentForm, service="core.payments.services.payment_record_offline",
                  single=True),
    BookingAction("refund", "Issue refund", "refund", "undo", form=ops_forms.RefundForm,
                  service="core.payments.services.refund_issue", single=True,
                  description="Refunds go back to the original payment method. Admins only."),
)}
TRANSITION_TARGETS = {"schedule": BookingStatus.SCHEDULED, "start": BookingStatus.IN_PROGRESS,
                      "complete": BookingStatus.COMPLETED}


class BookingSpecialtyItemInline(ReadOnlyTabularInline):
    model = m.BookingSpecialtyItem
    verbose_name_plural = "Specialty items"
    fields = readonly_fields = ["item", "quantity", "unit_price"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("item")


class BookingStatusChangeInline(ReadOnlyTabularInline):
    model = m.BookingStatusChange
    verbose_name_plural = "Status history"
    fields = readonly_fields = ["created_at", "from_status", "to_status", "actor", "reason"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class BookingNoteInline(ReadOnlyTabularInline):
    model = m.BookingNote
    verbose_name_plural = "Staff notes"
    fields = readonly_fields = ["created_at", "author", "body"]

    # notes are added through the "Add staff note" action (booking_add_note), never inline

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")


WHEN_PARAM = "when"


def _when(request) -> str:
    value = request.GET.get(WHEN_PARAM, "upcoming")
    return value if value in ("upcoming", "past", "all") else "upcoming"


class WhenFilter(admin.SimpleListFilter):
    """Upcoming pickups by default: an index range scan in date order, not a sort of every booking.

    "All" orders upcoming first, then past, by an expression PostgreSQL must sort the whole table for
    (~150 ms at 1M rows measured), so it is a choice, not the default.
    """

    title = "pickups"
    parameter_name = WHEN_PARAM

    def lookups(self, request, model_admin):
        return [("upcoming", "Upcoming (today on)"), ("past", "Past"), ("all", "All")]

    def value(self):
        return self.used_parameters.get(self.parameter_name) or "upcoming"

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "past":
            return queryset.filter(pickup_date__lt=today)
        if self.value() == "all":
            return queryset
        return queryset.filter(pickup_date__gte=today)

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {"selected": self.value() == lookup,
                   "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                   "display": title}


def booking_ordering(when: str) -> list:
    if when == "upcoming":
        return [F("pickup_date").asc(), F("created_at").desc()]
    if when == "past":
        return [F("pickup_date").desc(), F("created_at").desc()]
    today = timezone.localdate()
    upcoming = Case(When(pickup_date__gte=today, then=F("pickup_date")))
    past = Case(When(pickup_date__lt=today, then=F("pickup_date")))
    return [upcoming.asc(nulls_last=True), past.desc(nulls_last=True), F("created_at").desc()]


@admin.register(m.Booking)
class BookingAdmin(StreamingExportMixin, OpsModelAdmin):
    resource_classes = [BookingResource]
    list_display = ["booking_number", "customer_name", "booking_type", "pickup_date", "pickup_window",
                    "status_badge", "total_price", "payment_badge"]
    list_display_links = ["booking_number"]
    list_filter = [
        WhenFilter,
        ("status", ChoicesDropdownFilter),
        ("booking_type", ChoicesDropdownFilter),
        ("pickup_date", RangeDateFilter),
        ("payment_status", ChoicesDropdownFilter),
        ("coi_required", BooleanRadioFilter),
        ("needs_attention", BooleanRadioFilter),
        ("created_at", AwareRangeDateTimeFilter),
    ]
    list_filter_submit = True
    list_select_related = ["customer"]
    search_fields = ["booking_number", "customer__name", "customer__email", "customer__phone",
                     "pickup_address__line1", "dropoff_address__line1"]
    search_help_text = "Booking number, customer name/email/phone, or street address."
    editable_fields = ["notes", "needs_attention", "attention_reason"]
    fieldsets = [
        ("Summary", {"classes": ["tab"], "fields": [
            ("booking_number", "status_label", "payment_label"),
            ("booking_type", "package", "item_count"),
            ("pickup_date", "pickup_window", "coi_required"),
            "notes", ("needs_attention", "attention_reason", "attention_due"),
            ("hold_expires_at", "created_at", "updated_at"),
            ("cancelled_at", "cancellation_reason"), "tracking_url",
        ]}),
        ("Customer", {"classes": ["tab"], "fields": ["customer_link", "customer_email", "customer_phone",
                                                      "customer_bookings"]}),
        ("Addresses", {"classes": ["tab"], "fields": ["pickup_address_display", "dropoff_address_display"]}),
        ("Price", {"classes": ["tab"], "fields": ["price_table", "quote"]}),
        ("Payments & refunds", {"classes": ["tab"], "fields": ["payments_table", "stripe_payment_intent_id"]}),
        ("Notifications", {"classes": ["tab"], "fields": ["notifications_table"]}),
        ("History", {"classes": ["tab"], "fields": ["activity_link"]}),
    ]
    inlines = [BookingSpecialtyItemInline, BookingStatusChangeInline, BookingNoteInline, DeliveryTaskInline]
    actions = ["bulk_schedule", "bulk_start", "bulk_complete", "bulk_cancel", "bulk_note", "bulk_resend",
               "bulk_offline_payment", "bulk_refund", "export_selected"]
    actions_row = ["row_schedule", "row_start", "row_complete", "row_cancel", "row_note", "row_resend",
                   "row_offline_payment", "row_refund"]
    actions_detail = [
        {"title": "Status", "icon": "swap_horiz",
         "items": ["detail_schedule", "detail_start", "detail_complete", "detail_cancel"]},
        "detail_note", "detail_resend",
        {"title": "Money", "icon": "payments", "items": ["detail_offline_payment", "detail_refund"]},
    ]
    actions_list = ["export_all_streamed"]

    # --- queryset, ordering, permissions ---------------------------------------------------------------
    def get_queryset(self, request):
        qs = reporting.booking_admin_queryset()
        if request.resolver_match and request.resolver_match.url_name == "core_booking_change":
            qs = qs.select_related("dropoff_address", "package", "quote")
        return qs

    def get_ordering(self, request):
        return booking_ordering(_when(request))

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

    def has_offline_payment_permission(self, request, obj=None):
        return request.user.has_perm("core.add_payment")

    def has_refund_permission(self, request, obj=None):
        user = request.user
        return bool(getattr(user, "is_admin_role", False)) and user.has_perm("core.issue_refund")

    # --- list columns ----------------------------------------------------------------------------------
    @display(description="Customer", ordering="customer__name")
    def customer_name(self, obj):
        return obj.customer.name

    @display(description="Status", ordering="status", label=STATUS_COLOURS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    @display(description="Payment", ordering="payment_status", label=PAYMENT_COLOURS)
    def payment_badge(self, obj):
        return obj.payment_status, obj.get_payment_status_display()

    # --- change-form sections --------------------------------------------------------------------------
    @display(description="Status")
    def status_label(self, obj):
        return display_for_label((obj.status, obj.get_status_display()), "-", STATUS_COLOURS)

    @display(description="Payment")
    def payment_label(self, obj):
        return display_for_label((obj.payment_status, obj.get_payment_status_display()), "-", PAYMENT_COLOURS)

    @display(description="Customer")
    def customer_link(self, obj):
        url = reverse("admin:core_customerprofile_change", args=[obj.customer_id])
        return format_html('<a class="text-primary-600 font-semibold" href="{}">{}</a>', url, obj.customer.name)

    @display(description="Email")
    def customer_email(self, obj):
        return obj.customer.email

    @display(description="Phone")
    def customer_phone(self, obj):
        return obj.customer.phone

    @display(description="Bookings with us")
    def customer_bookings(self, obj):
        return obj.customer.total_bookings_count

    @display(description="Pickup address")
    def pickup_address_display(self, obj):
        return str(obj.pickup_address)

    @display(description="Drop-off address")
    def dropoff_address_display(self, obj):
        return str(obj.dropoff_address)

    @display(description="Price breakdown (as sold)")
    def price_table(self, obj):
        lines = (obj.price_breakdown or {}).get("lines") or []
        rows = [[ln.get("description", ln.get("code")), ln.get("quantity", 1), money(ln.get("amount"))]
                for ln in lines]
        rows.append([mark_safe("<strong>Total</strong>"), "", format_html("<strong>{}</strong>",
                                                                         money(obj.total_price))])
        return html_table(["Line", "Qty", "Amount"], rows)

    @display(description="Payments")
    def payments_table(self, obj):
        rows = []
        for p in payment_list_for_booking(booking=obj):
            refunds = ", ".join(f"{cents(r.amount_cents)} {r.status}" for r in p.refunds.all()) or "—"
            rows.append([p.created_at.strftime("%Y-%m-%d %H:%M"), p.get_method_display(), cents(p.amount_cents),
                         p.get_status_display(), cents(p.refunded_cents), refunds, p.reference or ""])
        return html_table(["When", "Method", "Amount", "Status", "Refunded", "Refunds", "Reference"], rows,
                          empty="No payments recorded.")

    @display(description="Notifications")
    def notifications_table(self, obj):
        rows = [[n.created_at.strftime("%Y-%m-%d %H:%M"), n.get_notification_type_display(), n.get_channel_display(),
                 n.get_status_display(), n.sent_at.strftime("%Y-%m-%d %H:%M") if n.sent_at else "",
                 n.last_error[:80]] for n in booking_notifications(booking=obj)]
        return html_table(["Created", "Type", "Channel", "Status", "Sent", "Last error"], rows,
                          empty="No notifications.")

    @display(description="Audit trail")
    def activity_link(self, obj):
        return format_html(
            '<a class="text-primary-600" href="{}">Activity (every change, who, when, from which IP)</a>'
            ' · <a class="text-primary-600" href="{}">Field-by-field history</a>',
            reverse("admin:core_booking_activity", args=[obj.pk]),
            reverse("admin:core_booking_history", args=[obj.pk]),
        )

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
        context = {**self.admin_site.each_context(request), "opts": self.opts,
                   "title": f"Activity — {booking.booking_number}",
                   "entries": reporting.booking_activity(booking),
                   "back_url": reverse("admin:core_booking_change", args=[booking.pk]),
                   "back_label": booking.booking_number}
        return TemplateResponse(request, "ops_console/activity.html", context)

    # --- the action engine: every row/detail/bulk action lands on one confirmation page ----------------
    def action_url(self, name: str, ids, next_url: str) -> str:
        return reverse("admin:core_booking_action", args=[name]) + "?" + urlencode(
            {"ids": ",".join(str(i) for i in ids), "next": next_url})

    def _parse_ids(self, raw) -> list[uuid.UUID]:
        ids = []
        for value in raw:
            for part in str(value).split(","):
                try:
                    ids.append(uuid.UUID(part.strip()))
                except ValueError:
                    continue
        return ids[:MAX_BULK]

    def action_view(self, request, name, ids=None):
        spec = ACTIONS.get(name)
        if spec is None:
            raise Http404
        if not getattr(self, f"has_{spec.permission}_permission")(request):
            raise PermissionDenied
        changelist = reverse("admin:core_booking_changelist")
        next_url = safe_next(request, changelist)
        if ids is None:
            ids = self._parse_ids(request.POST.getlist("ids") or [request.GET.get("ids", "")])
        bookings = list(reporting.booking_admin_queryset().filter(pk__in=ids).order_by("pickup_date"))
        if not bookings:
            self.message_user(request, "Select at least one booking.", messages.WARNING)
            return HttpResponseRedirect(next_url)
        if spec.single and len(bookings) != 1:
            self.message_user(request, f"{spec.label} works on one booking at a time; select exactly one.",
                              messages.ERROR)
            return HttpResponseRedirect(next_url)
        service = None
        if spec.service:
            service = lazy_service(spec.service)
            if service is None:
                self.message_user(request, NOT_AVAILABLE.format(label=spec.label, service=spec.service),
                                  messages.WARNING)
                return HttpResponseRedirect(next_url)
        form_kwargs = {}
        if spec.name == "refund":
            form_kwargs["payments"] = [
                (p, refundable) for p in payment_list_for_booking(booking=bookings[0])
                if (refundable := payment_refundable_cents(payment=p)) > 0
            ]
            if not form_kwargs["payments"]:
                self.message_user(request, f"{bookings[0].booking_number}: no payment with a refundable amount.",
                                  messages.ERROR)
                return HttpResponseRedirect(next_url)
        if spec.name == "offline_payment":
            form_kwargs["initial"] = {"amount": bookings[0].total_price}
        confirmed = request.method == "POST" and request.POST.get("confirm") == "yes"
        form = spec.form(request.POST if confirmed else None, **form_kwargs)
        if confirmed and form.is_valid():
            self._run(request, spec, service, bookings, form.cleaned_data)
            return HttpResponseRedirect(next_url)
        objects = [f"{b.booking_number} · {b.customer.name} · {b.pickup_date:%a %b %-d} · {b.get_status_display()}"
                   f" · {money(b.total_price)}" for b in bookings]
        return render_action_page(
            request, self, title=spec.label, form=form, objects=objects, ids=[str(b.pk) for b in bookings],
            next_url=next_url, action_url=reverse("admin:core_booking_action", args=[name]),
            description=spec.description, submit_label=spec.label,
            objects_heading=f"{len(bookings)} booking(s)",
        )

    def _run(self, request, spec: BookingAction, service, bookings, data) -> None:
        actor, ip = request.user, client_ip(request)
        done = 0
        for booking in bookings:
            try:
                result = self._run_one(spec, service, booking, data, actor=actor, ip=ip)
            except DomainError as exc:
                self.message_user(request, f"{booking.booking_number}: {exc.message}", messages.ERROR)
                continue
            done += 1
            self.message_user(request, f"{booking.booking_number}: {result}", messages.SUCCESS)
        if len(bookings) > 1:
            self.message_user(request, f"{spec.label}: {done} of {len(bookings)} booking(s) done.",
                              messages.INFO)

    def _run_one(self, spec, service, booking, data, *, actor, ip) -> str:
        if spec.name in TRANSITION_TARGETS:
            target = TRANSITION_TARGETS[spec.name]
            updated = booking_transition(booking=booking, to_status=target, actor=actor)
            return f"now {updated.get_status_display().lower()}."
        if spec.name == "cancel":
            booking_cancel(booking=booking, actor=actor, reason=data["reason"])
            return "cancelled."
        if spec.name == "note":
            booking_add_note(booking=booking, actor=actor, body=data["body"])
            return "note added."
        if spec.name == "resend":
            notification = service(booking=booking, notification_type="booking_confirmation", actor=actor)
            return f"confirmation queued ({getattr(notification, 'status', 'pending')})."
        if spec.name == "offline_payment":
            payment = service(booking=booking, amount=data["amount"], method=data["method"],
                              reference=data.get("reference", ""), actor=actor, request_ip=ip)
            return f"{data['method']} payment of {money(data['amount'])} recorded ({getattr(payment, 'status', '')})."
        if spec.name == "refund":
            payment = m.Payment.objects.get(pk=data["payment"], booking=booking)
            amount_cents = to_cents(data["amount"])
            refund = service(payment=payment, amount_cents=amount_cents, reason=data["reason"],
                             notes=data.get("notes", ""), actor=actor, request_ip=ip)
            return f"refund of {cents(amount_cents)} {getattr(refund, 'status', 'requested')}."
        raise DomainError(f"Unknown action {spec.name}.")

    # --- list actions ----------------------------------------------------------------------------------
    @action(description="Export this list (CSV, streamed)", icon="download", permissions=["export"])
    def export_all_streamed(self, request):
        url = reverse("admin:core_booking_export_stream")
        query = request.GET.urlencode()
        return HttpResponseRedirect(f"{url}?{query}" if query else url)

    @action(description="Export selected", icon="download", permissions=["export"])
    def export_selected(self, request, queryset):
        return ExportActionMixin.export_admin_action(self, request, queryset)


def _make_actions(spec: BookingAction):
    def row(self, request, object_id):
        return HttpResponseRedirect(self.action_url(spec.name, [object_id],
                                                    request.GET.get("next") or reverse("admin:core_booking_changelist")))

    def detail(self, request, object_id):
        return HttpResponseRedirect(self.action_url(spec.name, [object_id],
                                                    reverse("admin:core_booking_change", args=[object_id])))

    def bulk(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True)[:MAX_BULK])
        return self.action_view(request, spec.name, ids=ids)

    made = {}
    for prefix, func in (("row", row), ("detail", detail), ("bulk", bulk)):
        func.__name__ = f"{prefix}_{spec.name}"
        made[func.__name__] = action(func, description=spec.label, permissions=[spec.permission],
                                     icon=spec.icon, url_path=f"{prefix}-{spec.name.replace('_', '-')}")
    return made


for _spec in ACTIONS.values():
    for _name, _func in _make_actions(_spec).items():
        setattr(BookingAdmin, _name, _func)


@admin.register(m.Quote)
class QuoteAdmin(ReadOnlyOpsModelAdmin):
    list_display = ["id", "total_price", "expires_at", "created_at"]
    search_fields = ["id"]

    def has_export_permission(self, request):
        return False
