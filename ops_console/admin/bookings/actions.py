"""The booking desk's actions: what each one is, and the one confirmation page every row, detail and bulk
button lands on before it calls a core service for each booking and reports the outcome per booking."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.text import capfirst

from core import models as m
from core.bookings.models import BookingStatus, PaymentState
from core.bookings.rescheduling import RESCHEDULABLE
from core.bookings.services import booking_add_note, booking_cancel, booking_transition
from core.bookings.status import can_transition
from core.common.audit import client_ip
from core.common.errors import DomainError, ValidationError
from core.common.money import to_cents
from core.notifications.services import notification_resend, notification_send_custom
from core.payments.selectors import payment_list_for_booking, payment_refundable_cents
from core.payments.services import (
    amount_due,
    payment_link_refusal,
    payment_link_send,
    payment_record_offline,
    refund_issue,
)
from core.reporting import selectors as reporting
from ops_console import forms as ops_forms
from ops_console.admin._common import cents, money, render_action_page, safe_next
from ops_console.booking_forms import PayLinkForm

MAX_BULK = 500


@dataclass(frozen=True)
class BookingAction:
    name: str
    label: str
    permission: str  # has_<permission>_permission on the admin
    icon: str
    form: type[forms.Form] = ops_forms.ConfirmForm
    single: bool = False  # needs one booking (message, refund, offline payment)
    description: str = ""


SCHEDULE = BookingAction("schedule", "Mark scheduled", "operate", "event_available",
                         description="Paid bookings move to scheduled.")
START = BookingAction("start", "Mark in progress", "operate", "local_shipping",
                      description="Scheduled bookings move to in progress.")
COMPLETE = BookingAction("complete", "Mark completed", "operate", "task_alt",
                         description="Bookings in progress move to completed.")
CANCEL = BookingAction("cancel", "Cancel booking", "operate", "cancel", form=ops_forms.CancelForm,
                       description="For bookings nothing was paid for: the slot is freed. A paid booking is "
                                   "cancelled with “Cancel with refund”, under its change policy.")
NOTE = BookingAction("note", "Add staff note", "note", "sticky_note_2", form=ops_forms.NoteForm)
RESEND = BookingAction("resend", "Resend confirmation", "resend", "forward_to_inbox",
                       description="Sends the booking confirmation again to the customer.")
MESSAGE = BookingAction("message", "Send message", "message", "mail", form=ops_forms.MessageForm, single=True,
                        description="A message written by you to this booking's customer, by email and/or SMS.")
OFFLINE_PAYMENT = BookingAction("offline_payment", "Record offline payment", "offline_payment", "point_of_sale",
                                form=ops_forms.OfflinePaymentForm, single=True)
REFUND = BookingAction("refund", "Issue refund", "refund", "undo", form=ops_forms.RefundForm, single=True,
                       description="Refunds go back to the original payment method. Admins only.")
PAY_LINK = BookingAction("pay_link", "Send payment link", "message", "link", form=PayLinkForm, single=True,
                         description="Emails and/or texts the customer a link to pay what the booking owes online "
                                     "(card, on the website). The link is made when the message is sent.")

# Changes under the booking's change policy: a preview of the quote, then its confirmation (changes.py).
CANCEL_REFUND = BookingAction("cancel_refund", "Cancel with refund", "operate", "currency_exchange",
                              form=ops_forms.CancelRefundForm, single=True,
                              description="Cancels under the booking's change policy and refunds what the policy "
                                          "gives back, or what you set with a reason.")
RESCHEDULE = BookingAction("reschedule", "Reschedule", "operate", "event_repeat", form=ops_forms.RescheduleForm,
                           single=True, description="Moves the booking to another date or window under its change "
                                                    "policy: the new date's price difference and any change fee "
                                                    "are charged, or the difference refunded.")
EDIT = BookingAction("edit", "Edit booking", "operate", "edit_calendar", form=ops_forms.EditBookingForm,
                     single=True, description="Changes a paid booking's date, window, addresses or items: "
                                              "re-priced and re-checked as a reschedule is.")
CHANGE_FLOWS = ("cancel_refund", "reschedule", "edit")

ACTIONS: dict[str, BookingAction] = {a.name: a for a in (
    SCHEDULE, START, COMPLETE, CANCEL, NOTE, RESEND, MESSAGE, OFFLINE_PAYMENT, REFUND, PAY_LINK, CANCEL_REFUND,
    RESCHEDULE, EDIT)}
TRANSITION_TARGETS = {"schedule": BookingStatus.SCHEDULED, "start": BookingStatus.IN_PROGRESS,
                      "complete": BookingStatus.COMPLETED}
REFUNDABLE_PAYMENT_STATES = (PaymentState.PAID, PaymentState.PARTIALLY_REFUNDED, PaymentState.BALANCE_DUE)
# a plain cancel would keep the customer's money: those bookings are cancelled under the policy instead
CAPTURED_PAYMENT_STATES = REFUNDABLE_PAYMENT_STATES


def parse_ids(raw) -> list[uuid.UUID]:
    ids = []
    for value in raw:
        for part in str(value).split(","):
            try:
                ids.append(uuid.UUID(part.strip()))
            except ValueError:
                continue
    return ids[:MAX_BULK]


def refusal(spec: BookingAction, booking) -> str:
    """Why `spec` cannot apply to `booking` ("" when it can), by the core status machine's rules."""
    target = TRANSITION_TARGETS.get(spec.name) or (BookingStatus.CANCELLED if spec.name == "cancel" else None)
    if target and booking.status != target and not can_transition(booking.status, target):
        return (f"a {booking.get_status_display().lower()} booking cannot become "
                f"{BookingStatus(target).label.lower()}.")
    if spec.name == "cancel" and booking.payment_status in CAPTURED_PAYMENT_STATES:
        return "money was paid: use “Cancel with refund” (the change policy decides the refund)."
    if spec.name == "refund" and booking.payment_status not in REFUNDABLE_PAYMENT_STATES:
        return f"nothing to refund ({booking.get_payment_status_display().lower()})."
    if spec.name in CHANGE_FLOWS and booking.status not in RESCHEDULABLE:
        if booking.status == BookingStatus.PENDING:
            return ("not paid yet: cancel it with “Cancel booking”." if spec.name == "cancel_refund"
                    else "not paid yet: an unpaid booking is changed through its own edit path.")
        return f"a {booking.get_status_display().lower()} booking cannot be changed under the policy."
    if spec.name == "pay_link":
        return payment_link_refusal(booking)
    return ""


def add_domain_error(form, exc: DomainError) -> None:
    """A refused action's reason on its form: on the fields it names, else above the form."""
    elsewhere = []
    for field, msgs in (exc.fields or {}).items():
        for msg in msgs if isinstance(msgs, (list, tuple)) else [msgs]:
            if field in form.fields:
                form.add_error(field, str(msg))
            else:
                elsewhere.append(str(msg))
    form.add_error(None, " ".join([exc.message, *elsewhere]))


class BookingActionPageMixin:
    """The confirmation page (GET shows it, POST with confirm=yes runs it) behind every desk action."""

    def action_url(self, name: str, ids, next_url: str) -> str:
        return reverse("admin:core_booking_action", args=[name]) + "?" + urlencode(
            {"ids": ",".join(str(i) for i in ids), "next": next_url})

    def action_view(self, request, name, ids=None):
        spec = ACTIONS.get(name)
        if spec is None:
            raise Http404
        if not getattr(self, f"has_{spec.permission}_permission")(request):
            raise PermissionDenied
        # a bulk action is posted to the list itself, filters and search in its query string: go back there
        fallback = request.get_full_path() if ids is not None else reverse("admin:core_booking_changelist")
        next_url = safe_next(request, fallback)
        if ids is None:
            ids = parse_ids(request.POST.getlist("ids") or [request.GET.get("ids", "")])
        bookings = list(reporting.booking_admin_queryset().filter(pk__in=ids).order_by("pickup_date"))
        if not bookings:
            self.message_user(request, "Select at least one booking.", messages.WARNING)
            return HttpResponseRedirect(next_url)
        if spec.single and len(bookings) != 1:
            self.message_user(request, f"{spec.label} works on one booking at a time; select exactly one.",
                              messages.ERROR)
            return HttpResponseRedirect(next_url)
        refused = {b.pk: reason for b in bookings if (reason := refusal(spec, b))}
        applicable = [b for b in bookings if b.pk not in refused]
        if spec.name in CHANGE_FLOWS and applicable:
            return self.change_flow_view(request, spec, applicable[0], next_url)
        form_kwargs = {}
        if spec.name == "refund" and applicable:
            form_kwargs["payments"] = [
                (p, refundable) for p in payment_list_for_booking(booking=applicable[0])
                if (refundable := payment_refundable_cents(payment=p)) > 0
            ]
            if not form_kwargs["payments"]:
                refused[applicable[0].pk] = "no payment with a refundable amount."
                applicable = []
        if spec.name == "offline_payment":
            form_kwargs["initial"] = {"amount": bookings[0].total_price}
        confirmed = request.method == "POST" and request.POST.get("confirm") == "yes" and bool(applicable)
        form = spec.form(request.POST if confirmed else None, **form_kwargs)
        if confirmed and form.is_valid():
            if len(bookings) == 1:
                try:
                    result = self._run_one(spec, applicable[0], form.cleaned_data, actor=request.user,
                                           ip=client_ip(request))
                except DomainError as exc:
                    add_domain_error(form, exc)  # shown on the form, with what was typed kept
                else:
                    self.message_user(request, f"{applicable[0].booking_number}: {result}", messages.SUCCESS)
                    return HttpResponseRedirect(next_url)
            else:
                for booking in bookings:
                    if booking.pk in refused:
                        self.message_user(request, f"{booking.booking_number}: {capfirst(refused[booking.pk])}",
                                          messages.ERROR)
                self._run(request, spec, applicable, form.cleaned_data, skipped=len(refused))
                return HttpResponseRedirect(next_url)
        objects = [{"text": f"{b.booking_number} · {b.customer.name} · {b.pickup_date:%a %b %-d} · "
                            f"{b.get_status_display()} · {money(b.total_price)}",
                    "refused": refused.get(b.pk, "")} for b in bookings]
        return render_action_page(
            request, self, title=spec.label, form=form, objects=objects, ids=[str(b.pk) for b in applicable],
            next_url=next_url, action_url=reverse("admin:core_booking_action", args=[name]),
            description=spec.description, submit_label=spec.label,
            objects_heading=f"{len(applicable)} of {len(bookings)} booking(s)" if refused
            else f"{len(bookings)} booking(s)",
            disabled_reason="" if applicable else f"{spec.label} applies to none of the selected bookings.",
        )

    def _run(self, request, spec: BookingAction, bookings, data, *, skipped: int = 0) -> None:
        actor, ip = request.user, client_ip(request)
        done = 0
        for booking in bookings:
            try:
                result = self._run_one(spec, booking, data, actor=actor, ip=ip)
            except DomainError as exc:
                # "The payment is not valid." alone does not say what to fix; the field messages do.
                details = " ".join(problem for problems in exc.fields.values() for problem in problems
                                   if isinstance(problem, str)) if isinstance(exc, ValidationError) else ""
                self.message_user(request, f"{booking.booking_number}: {exc.message} {details}".rstrip(),
                                  messages.ERROR)
                continue
            done += 1
            self.message_user(request, f"{booking.booking_number}: {result}", messages.SUCCESS)
        total = len(bookings) + skipped
        self.message_user(request, f"{spec.label}: {done} of {total} booking(s) done"
                                   + (f", {skipped} not applicable." if skipped else "."), messages.INFO)

    def _run_one(self, spec, booking, data, *, actor, ip) -> str:
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
            notification = notification_resend(booking=booking, notification_type="booking_confirmation",
                                               actor=actor)
            return f"confirmation queued ({notification.get_status_display().lower()})."
        if spec.name == "message":
            sent = notification_send_custom(booking=booking, subject=data["subject"], body=data["body"],
                                            channels=data["channels"], actor=actor)
            states = ", ".join(f"{n.get_channel_display()} {n.get_status_display().lower()}" for n in sent)
            return f"message queued ({states})."
        if spec.name == "offline_payment":
            payment = payment_record_offline(booking=booking, amount=data["amount"], method=data["method"],
                                             reference=data.get("reference", ""), actor=actor, request_ip=ip)
            return (f"{payment.get_method_display().lower()} payment of {money(data['amount'])} recorded"
                    f" ({payment.get_status_display().lower()}).")
        if spec.name == "pay_link":
            sent = payment_link_send(booking=booking, channels=data["channels"], actor=actor)
            states = ", ".join(f"{n.get_channel_display()} {n.get_status_display().lower()}" for n in sent)
            return f"payment link of {money(amount_due(booking))} queued ({states})."
        if spec.name == "refund":
            payment = m.Payment.objects.get(pk=data["payment"], booking=booking)
            amount_cents = to_cents(data["amount"])
            refund = refund_issue(payment=payment, amount_cents=amount_cents, reason=data["reason"],
                                  notes=data.get("notes", ""), actor=actor, request_ip=ip)
            return f"refund of {cents(amount_cents)} {refund.get_status_display().lower()}."
        raise DomainError(f"Unknown action {spec.name}.")
