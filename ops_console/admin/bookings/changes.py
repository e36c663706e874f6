"""Changing a sold booking from the desk under its change policy: cancel with refund, reschedule, edit.

Each is a preview, then the confirmation of exactly that preview (core.bookings.changes / rescheduling): the
page shows the quote's lines (paid, fees, earlier refunds, the price difference, what comes back or is due, the
policy version); staff may override the policy with a reason and preview again (core decides who may, and how
much); confirming posts the quote id, so what runs is what was shown, once, whatever the double clicks.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from core.bookings.changes import booking_cancel_preview, booking_cancel_with_quote
from core.bookings.errors import DateUnavailable
from core.bookings.models import PickupWindow
from core.bookings.rescheduling import (
    BookingChange,
    ChangeOverride,
    booking_change_preview,
    booking_change_with_quote,
)
from core.bookings.selectors import booking_specialty_codes
from core.catalog.selectors import active_packages, active_specialty_items
from core.common.errors import DomainError
from core.payments.selectors import booking_balances_owed
from core.reporting import selectors as reporting
from ops_console.admin.bookings.actions import BookingAction
from ops_console.formatting import cents, local_date, local_datetime, money
from ops_console.forms import ADDRESS_PARTS, specialty_rows_for

# core's field names → the form's, so a refusal lands on the field to fix
FIELD_OF = {"reason": "override_reason", "refund_cents": "refund_amount", "pickup_date": "pickup_date",
            "pickup_window": "pickup_window", "pickup_address": "pickup_line1", "dropoff_address": "dropoff_line1",
            "item_count": "item_count", "package": "package"}


def error_text(exc: DomainError) -> str:
    """A refusal in one sentence or two: the reason, the fields' reasons, and the nearest open dates."""
    details = []
    for field, problems in (exc.fields or {}).items():
        if field == "alternatives":
            continue
        for problem in problems if isinstance(problems, (list, tuple)) else [problems]:
            if isinstance(problem, str) and problem not in details and problem != exc.message:
                details.append(problem)
    text = " ".join([exc.message, *details])
    alternatives = (exc.fields or {}).get("alternatives") or []
    if isinstance(exc, DateUnavailable) or alternatives:
        days = [local_date(dt.date.fromisoformat(day)) for day in alternatives if isinstance(day, str)]
        text += f" Nearest open dates: {', '.join(days)}." if days else " No open date nearby."
    return text


def booked_specialty(booking) -> tuple[tuple[str, int], ...]:
    """The booking's specialty items as the edit form reads them back: quantities per code, sorted."""
    totals: dict[str, int] = {}
    for code, qty in booking_specialty_codes(booking):
        totals[code] = totals.get(code, 0) + qty
    return tuple(sorted(totals.items()))


def quote_rows(quote) -> list[dict]:
    return [{"description": line.get("description", line.get("code")), "amount": money(line.get("amount")),
             "kind": line.get("kind", "")} for line in (quote.price or {}).get("lines", [])]


def change_summary(quote) -> str:
    """What a used quote changed, in words (the change history's "what")."""
    if quote.action == "cancel":
        return "Cancelled"
    request = quote.request or {}
    parts = []
    if request.get("pickup_date"):
        day = local_date(dt.date.fromisoformat(request["pickup_date"]))
        before = (quote.basis or {}).get("pickup_date")
        moved = before and before != request["pickup_date"]
        window = dict(PickupWindow.choices).get(request.get("pickup_window"), request.get("pickup_window") or "")
        parts.append(f"{'Moved to' if moved else 'On'} {day}, {window}")
    for key, label in (("pickup_address", "pickup address"), ("dropoff_address", "drop-off address")):
        if request.get(key):
            parts.append(f"new {label} ({request[key].get('line1', '')})")
    if request.get("item_count") is not None:
        parts.append(f"{request['item_count']} items")
    if request.get("package"):
        parts.append(f"package {request['package']}")
    if request.get("specialty_items") is not None:
        items = ", ".join(f"{qty}× {code}" for code, qty in request["specialty_items"]) or "none"
        parts.append(f"specialty items: {items}")
    return "; ".join(parts) or "Changed"


class BookingChangeFlowMixin:
    """The preview → confirm page of the three change actions (reached through action_view)."""

    def change_flow_view(self, request, spec: BookingAction, booking, next_url: str):
        step = request.POST.get("step", "") if request.method == "POST" else ""
        quote = None
        if step == "confirm":
            quote_id = request.POST.get("quote_id", "")
            try:
                text, level = self._change_confirm(spec, booking, quote_id, actor=request.user)
            except DomainError as exc:
                if reporting.change_quote_used(booking=booking, quote_id=quote_id):
                    # carried out, then something after the commit failed (the balance's payment intent)
                    self.message_user(request, f"{booking.booking_number}: {spec.label} done, but: "
                                               f"{error_text(exc)}", messages.WARNING)
                    return HttpResponseRedirect(reverse("admin:core_booking_change", args=[booking.pk]))
                self.message_user(request, f"{booking.booking_number}: {error_text(exc)}", messages.ERROR)
                form = self._change_form(spec, booking)
            else:
                self.message_user(request, f"{booking.booking_number}: {text}", level)
                return HttpResponseRedirect(reverse("admin:core_booking_change", args=[booking.pk]))
        elif step == "preview":
            form = self._change_form(spec, booking, data=request.POST)
            if form.is_valid():
                quote = self._preview_or_refusal(request, spec, booking, form)
        else:
            form = self._change_form(spec, booking)
            if spec.name == "cancel_refund":  # nothing to choose: the policy's price straight away
                quote = self._preview_or_refusal(request, spec, booking, form)
        return self._render_change(request, spec, booking, form, quote, next_url)

    # --- forms -------------------------------------------------------------------------------------------
    def _change_form(self, spec: BookingAction, booking, data=None):
        kwargs = {}
        initial = {}
        if spec.name in ("reschedule", "edit"):
            kwargs["windows"] = PickupWindow.choices
            initial = {"pickup_date": booking.pickup_date, "pickup_window": booking.pickup_window}
        if spec.name == "edit":
            kwargs["packages"] = list(active_packages())
            lines = booking_specialty_codes(booking)
            # an item retired since stays choosable on the booking that has it (or the form could not be saved)
            kwargs["items"] = list(active_specialty_items(keeping=[code for code, _qty in lines]))
            initial.update(item_count=booking.item_count, package=booking.package.code if booking.package_id else "")
            for prefix, address in (("pickup", booking.pickup_address), ("dropoff", booking.dropoff_address)):
                for part, _label, _required in ADDRESS_PARTS:
                    initial[f"{prefix}_{part}"] = getattr(address, part, "")
            # every line shown (none dropped on save), and rows below what a preview posted
            kwargs["specialty_rows"] = specialty_rows_for(len(lines), data)
            for n, (code, qty) in enumerate(lines, start=1):
                initial[f"specialty_item_{n}"], initial[f"specialty_qty_{n}"] = code, qty
        return spec.form(data, initial=initial, **kwargs)

    def _booking_change(self, spec: BookingAction, booking, form) -> BookingChange:
        data = form.cleaned_data
        change = {"pickup_date": data["pickup_date"], "pickup_window": data["pickup_window"]}
        if spec.name == "edit":
            # only what staff changed is sent: the rest stays as sold (and is not re-validated as new input)
            for prefix, address in (("pickup", booking.pickup_address), ("dropoff", booking.dropoff_address)):
                typed = form.address(prefix)
                if typed != {part: getattr(address, part, "") or "" for part, _l, _r in ADDRESS_PARTS}:
                    change[f"{prefix}_address"] = typed
            if data.get("item_count") is not None and data["item_count"] != booking.item_count:
                change["item_count"] = data["item_count"]
            current_package = booking.package.code if booking.package_id else ""
            if data.get("package") and data["package"] != current_package:
                change["package"] = data["package"]
            items = form.specialty_items()
            if items != booked_specialty(booking):  # sent only when staff changed the list
                change["specialty_items"] = items
        return BookingChange(**change)

    # --- core calls --------------------------------------------------------------------------------------
    def _preview_or_refusal(self, request, spec: BookingAction, booking, form):
        values = form.override_values() if form.is_bound else None
        override = ChangeOverride(**values) if values else None
        try:
            if spec.name == "cancel_refund":
                return booking_cancel_preview(booking=booking, actor=request.user, override=override)
            return booking_change_preview(booking=booking, change=self._booking_change(spec, booking, form),
                                          actor=request.user, override=override)
        except DomainError as exc:
            self.message_user(request, f"{booking.booking_number}: {error_text(exc)}", messages.ERROR)
            if form.is_bound:
                for field, problems in (exc.fields or {}).items():
                    name = FIELD_OF.get(field)
                    if name in form.fields and name not in form.errors:
                        for problem in problems if isinstance(problems, (list, tuple)) else [problems]:
                            form.add_error(name, str(problem))
            return None

    def _change_confirm(self, spec: BookingAction, booking, quote_id: str, *, actor) -> tuple[str, int]:
        if spec.name == "cancel_refund":
            outcome = booking_cancel_with_quote(booking=booking, quote_id=quote_id, actor=actor)
            refunds = ", ".join(f"{cents(r.amount_cents)} {r.get_status_display().lower()}" for r in outcome.refunds)
            version = outcome.quote.price.get("policy_version", "?")
            text = (f"cancelled under change policy v{version}; refund {refunds}." if refunds
                    else f"cancelled under change policy v{version}; nothing to refund.")
            return text, messages.SUCCESS
        outcome = booking_change_with_quote(booking=booking, quote_id=quote_id, actor=actor)
        moved = outcome.booking
        text = f"now on {local_date(moved.pickup_date)}, {moved.get_pickup_window_display()}"
        text += f", total {money(moved.total_price)}."
        if outcome.refunds:
            text += " Refund " + ", ".join(f"{cents(r.amount_cents)} {r.get_status_display().lower()}"
                                           for r in outcome.refunds) + "."
        owed = sum(c for _quote, c in booking_balances_owed(moved))
        if outcome.quote.amount_due > Decimal(0) or owed:
            text += (f" Amount due {money(outcome.quote.amount_due)}: the customer has not paid it yet (balance "
                     f"owed {cents(owed)}; payment {moved.get_payment_status_display().lower()}, booking "
                     f"{moved.get_status_display().lower()}). Send them a payment link.")
            return text, messages.WARNING
        return text, messages.SUCCESS

    # --- page ------------------------------------------------------------------------------------------
    def _render_change(self, request, spec: BookingAction, booking, form, quote, next_url: str):
        action_url = reverse("admin:core_booking_action", args=[spec.name])
        if quote is not None:
            if quote.refund_amount:
                confirm_label = f"{spec.label}: refund {money(quote.refund_amount)}"
            elif quote.amount_due:
                confirm_label = f"{spec.label}: {money(quote.amount_due)} due"
            else:
                confirm_label = spec.label
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts, "title": f"{spec.label} — {booking.booking_number}", "spec": spec,
            "booking": booking, "form": form, "quote": quote, "next": next_url, "action_url": action_url,
            "booking_text": f"{booking.booking_number} · {booking.customer.name} · "
                            f"{local_date(booking.pickup_date)}, {booking.get_pickup_window_display()} · "
                            f"{booking.get_status_display()}, payment "
                            f"{booking.get_payment_status_display().lower()} · {money(booking.total_price)}",
            "change_text": change_summary(quote) if quote is not None and spec.name != "cancel_refund" else "",
            "rows": quote_rows(quote) if quote else [],
            "confirm_label": confirm_label if quote is not None else "",
            "expires": local_datetime(quote.expires_at) if quote else "",
            "refund": money(quote.refund_amount) if quote else "",
            "due": money(quote.amount_due) if quote else "",
            "new_total": money(quote.new_total) if quote is not None and quote.new_total is not None else "",
            "policy_version": (quote.price or {}).get("policy_version") if quote else None,
            "override_reason": (quote.override or {}).get("reason", "") if quote else "",
            "preview_label": "Preview with override" if spec.name == "cancel_refund" else "Preview the change",
            "booking_url": reverse("admin:core_booking_change", args=[booking.pk]),
        }
        return TemplateResponse(request, "ops_console/booking_change.html", context)
