"""The one way the console shows money, times and codes to people.

Every page, table and message of the console formats through these functions (and the `ops_format` template
filters that wrap them), so a booking's payments tab, the activity page and a list column never disagree:
- money: "$2,490.00";
- time: New York wall time (TIME_ZONE) in Django's DATETIME_FORMAT, the format Django and Unfold already use
  for model fields ("Dec. 1, 2026, 2:30 p.m."), so hand-built tables match the stock columns;
- codes: the field's choice label when it has choices, else the code in words ("requested_by_customer" →
  "Requested by customer"), with the acronyms people write in capitals.
Exports keep plain numbers and ISO times (a spreadsheet computes with them) and say the zone in the header.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.text import capfirst

from core.common.money import from_cents

EMPTY = "—"
# Words people write in capitals; a code like "coi_required" reads "COI required".
ACRONYMS = {"coi": "COI", "sms": "SMS", "ip": "IP", "id": "ID", "url": "URL", "usd": "USD", "api": "API",
            "html": "HTML", "pdf": "PDF", "csv": "CSV", "eta": "ETA"}
# Codes whose words alone would mislead or read badly.
CODE_LABELS = {
    "requested_by_customer": "Requested by customer",
    "intent_created": "Payment started (Stripe intent created)",
    "intent_canceled": "Payment intent cancelled",
    "payment_succeeded": "Payment succeeded",
    "payment_failed": "Payment failed",
    "payment_processing": "Payment processing",
    "payment_canceled": "Payment cancelled",
    "payment_recovered_from_stripe": "Payment recovered from Stripe",
    "test_mode_payment_recorded": "Test-mode payment recorded",
    "superseded_by_new_amount": "Superseded by a new amount",
    "user_agent": "Browser (user agent)",
    "ip_address": "IP address",
}
_WORD = re.compile(r"[A-Za-z0-9]+")
_CODE = re.compile(r"[a-z]+(_[a-z]+)*")


def zone_name() -> str:
    return settings.TIME_ZONE


def money(value) -> str:
    """Dollars for people: "$2,490.00" ("-$25.00" for a negative amount)."""
    amount = Decimal(value or 0)
    return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


def cents(value: int | None) -> str:
    return money(from_cents(value or 0))


def local_datetime(value: dt.datetime | None) -> str:
    """An aware timestamp as New York wall time, formatted like every other date-time in the console."""
    if value is None:
        return EMPTY
    return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")


def local_date(value: dt.date | None) -> str:
    if value is None:
        return EMPTY
    return formats.date_format(value, "DATE_FORMAT")


def humanize_code(code) -> str:
    """A stored code in words: "partially_refunded" → "Partially refunded", "coi_fee" → "COI fee"."""
    if code in (None, ""):
        return EMPTY
    text = str(code)
    if text in CODE_LABELS:
        return CODE_LABELS[text]
    words = [ACRONYMS.get(w.lower(), w.lower()) for w in _WORD.findall(text)]
    return capfirst(" ".join(words)) if words else text


def reason_text(reason: str) -> str:
    """A recorded reason: a system code ("hold_expired") in words, a person's text as they wrote it."""
    if not reason:
        return EMPTY
    return humanize_code(reason) if _CODE.fullmatch(reason) else reason


def field_label(model: type[models.Model], name: str) -> str:
    """The field's name for people: its verbose name, with acronyms in capitals ("COI required")."""
    try:
        verbose = str(model._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        verbose = name
    if name.endswith("_cents"):  # shown in dollars (value_text), so the unit leaves the label
        verbose = verbose.removesuffix(" cents").removesuffix(" (cents)")
    return humanize_code(verbose.replace(" ", "_"))


def choice_label(model: type[models.Model], name: str, code) -> str:
    """The label of a stored choice; a code without a declared choice reads as words."""
    try:
        choices = dict(model._meta.get_field(name).flatchoices)
    except FieldDoesNotExist:
        choices = {}
    if code in choices:
        return str(choices[code])
    return humanize_code(code)


def value_text(model: type[models.Model], name: str, value) -> str:
    """One stored value of `model.name` as people read it (history diffs, activity)."""
    if value in (None, ""):
        return EMPTY
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        field = None
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if name.endswith("_cents") and isinstance(value, int):
        return cents(value)
    if isinstance(field, models.DecimalField) and field.decimal_places == 2:
        return money(value)
    if isinstance(value, dt.datetime):
        return local_datetime(value)
    if isinstance(value, dt.date):
        return local_date(value)
    if field is not None and field.choices:
        return choice_label(model, name, value)
    return str(value)


def multiline(text: str):
    """Text whose line breaks people wrote (notes, plain-text emails), kept as lines.

    An inline style: Unfold ships a prebuilt stylesheet without Tailwind's whitespace-pre-* classes.
    """
    if not text:
        return EMPTY
    return format_html('<div style="white-space:pre-line">{}</div>', text)


def local_iso(value: dt.datetime | None) -> str:
    """Exports: New York time as ISO 8601 with its offset (the header names the zone)."""
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""
