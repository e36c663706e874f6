"""The activity page (a booking's, a staff user's): core's entries worded for people through the one formatter."""

from __future__ import annotations

from django.template.response import TemplateResponse

from core.bookings.models import Booking
from core.notifications.models import Notification
from core.payments.models import Payment, Refund
from ops_console.formatting import EMPTY, cents, choice_label, field_label, reason_text, value_text

MAX_VALUE = 60


def _short(text: str) -> str:
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def transition_text(from_status: str, to_status: str, reason: str = "") -> str:
    """A status change in labels on both sides: "Paid → Scheduled", "Created as Pending payment"."""
    to_label = choice_label(Booking, "status", to_status)
    text = f"{choice_label(Booking, 'status', from_status)} → {to_label}" if from_status else f"Created as {to_label}"
    return f"{text} — {reason_text(reason)}" if reason and reason != "created" else text


def change_text(model, field: str, old, new) -> str:
    return (f"{field_label(model, field)}: {_short(value_text(model, field, old))} → "
            f"{_short(value_text(model, field, new))}")


# How a newly created record reads (the models' __str__ are for developers: "booking_reminder via email (pending)").
OBJECT_TEXT = {
    Notification: lambda n: f"{n.get_notification_type_display()} by {n.get_channel_display()}"
                            f" ({n.get_status_display().lower()})",
    Payment: lambda p: f"{p.get_method_display()} payment of {cents(p.amount_cents)} ({p.get_status_display().lower()})",
    Refund: lambda r: f"Refund of {cents(r.amount_cents)} ({r.get_status_display().lower()})",
}


def created_text(entry: dict) -> str:
    history_row = entry.get("object")
    if history_row is None or entry.get("changes") or not entry["what"].endswith(" created"):
        return entry.get("summary") or ""
    instance = history_row.instance
    describe = OBJECT_TEXT.get(type(instance))
    return describe(instance) if describe else str(instance)


def entry_details(entry: dict) -> str:
    head = " ".join(p for p in (created_text(entry), entry.get("transition") and transition_text(*entry["transition"]))
                    if p)
    changes = "; ".join(change_text(*change) for change in entry.get("changes") or ())
    return "; ".join(p for p in (head, changes) if p) or EMPTY


def render_activity(request, model_admin, *, title: str, entries: list[dict], back_url: str, back_label: str):
    rows = [{**e, "details": entry_details(e)} for e in entries]
    context = {**model_admin.admin_site.each_context(request), "opts": model_admin.opts, "title": title,
               "entries": rows, "back_url": back_url, "back_label": back_label}
    return TemplateResponse(request, "ops_console/activity.html", context)
