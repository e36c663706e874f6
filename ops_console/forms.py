"""Forms for console actions that take input; they only parse input — the rules live in core services."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from unfold.widgets import (
    UnfoldAdminCheckboxSelectMultipleWidget,
    UnfoldAdminDecimalFieldWidget,
    UnfoldAdminIntegerFieldWidget,
    UnfoldAdminRadioSelectWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminSingleDateWidget,
    UnfoldAdminTextareaWidget,
    UnfoldAdminTextInputWidget,
    UnfoldBooleanSwitchWidget,
)

from core.catalog.models import ServiceType
from core.catalog.pricing import MAX_SPECIALTY_LINES
from ops_console.formatting import cents, local_date, local_datetime, money


class ConfirmForm(forms.Form):
    """No input: the page itself is the confirmation."""


class CancelForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=500, widget=UnfoldAdminTextareaWidget(attrs={"rows": 3}),
                             help_text="Recorded on the booking's status history.")


class NoteForm(forms.Form):
    body = forms.CharField(label="Staff note", max_length=4000, widget=UnfoldAdminTextareaWidget(attrs={"rows": 4}),
                           help_text="Internal; never shown to the customer.")


class MessageForm(forms.Form):
    channels = forms.MultipleChoiceField(label="Send by", choices=[("email", "Email"), ("sms", "SMS")],
                                         initial=["email"], widget=UnfoldAdminCheckboxSelectMultipleWidget)
    subject = forms.CharField(label="Subject", max_length=255, required=False, widget=UnfoldAdminTextInputWidget,
                              help_text="Email only.")
    body = forms.CharField(label="Message", max_length=5000, widget=UnfoldAdminTextareaWidget(attrs={"rows": 6}),
                           help_text="Goes to the customer as written; an email ends with their manage link (write "
                                     "{{ manage_url }} to place it yourself). An SMS carries the text only.")


class OfflinePaymentForm(forms.Form):
    amount = forms.DecimalField(label="Amount (USD)", max_digits=10, decimal_places=2, min_value=Decimal("0.01"),
                                widget=UnfoldAdminDecimalFieldWidget)
    method = forms.ChoiceField(label="Method", choices=[("cash", "Cash"), ("check", "Check"), ("other", "Other")],
                               widget=UnfoldAdminSelectWidget)
    reference = forms.CharField(label="Reference", max_length=100, required=False,
                                widget=UnfoldAdminTextInputWidget,
                                help_text="Check number, receipt number …")


REFUND_REASONS = [
    ("requested_by_customer", "Requested by customer"),
    ("duplicate", "Duplicate"),
    ("fraudulent", "Fraudulent"),
]


class RefundForm(forms.Form):
    payment = forms.TypedChoiceField(label="Payment", coerce=int, widget=UnfoldAdminRadioSelectWidget)
    amount = forms.DecimalField(label="Amount to refund (USD)", max_digits=10, decimal_places=2,
                                min_value=Decimal("0.01"), widget=UnfoldAdminDecimalFieldWidget)
    reason = forms.ChoiceField(label="Reason", choices=REFUND_REASONS, widget=UnfoldAdminSelectWidget)
    notes = forms.CharField(label="Notes", max_length=2000, required=False,
                            widget=UnfoldAdminTextareaWidget(attrs={"rows": 3}))

    def __init__(self, *args, payments=(), **kwargs):
        """`payments`: (payment, refundable cents) pairs, from core.payments.selectors."""
        super().__init__(*args, **kwargs)
        self.fields["payment"].choices = [
            (p.pk, f"{p.get_method_display()} payment of {cents(p.amount_cents)}, {local_datetime(p.created_at)}"
                   f" — refundable {cents(refundable)}") for p, refundable in payments
        ]
        if len(payments) == 1:
            self.fields["payment"].initial = payments[0][0].pk


class MergeForm(forms.Form):
    target = forms.TypedChoiceField(label="Keep this profile", coerce=int, widget=UnfoldAdminRadioSelectWidget,
                                    help_text="The other profile's bookings move onto it; it is marked merged.")

    def __init__(self, *args, customers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = [
            (c.pk, f"{c.name} <{c.email}> · {c.total_bookings_count} bookings · since {local_date(c.created_at.date())}")
            for c in customers
        ]


class PriceSimulatorForm(forms.Form):
    booking_type = forms.ChoiceField(choices=ServiceType.choices, widget=UnfoldAdminSelectWidget)
    pickup_date = forms.DateField(widget=UnfoldAdminSingleDateWidget)
    package = forms.ChoiceField(required=False, widget=UnfoldAdminSelectWidget,
                                help_text="Mini Move only.")
    item_count = forms.IntegerField(min_value=0, initial=0, required=False, widget=UnfoldAdminIntegerFieldWidget)
    specialty_item_1 = forms.ChoiceField(required=False, widget=UnfoldAdminSelectWidget, label="Specialty item")
    specialty_qty_1 = forms.IntegerField(min_value=1, initial=1, required=False, label="Quantity",
                                         widget=UnfoldAdminIntegerFieldWidget)
    specialty_item_2 = forms.ChoiceField(required=False, widget=UnfoldAdminSelectWidget, label="Specialty item")
    specialty_qty_2 = forms.IntegerField(min_value=1, initial=1, required=False, label="Quantity",
                                         widget=UnfoldAdminIntegerFieldWidget)
    coi_required = forms.BooleanField(required=False, label="COI required", widget=UnfoldBooleanSwitchWidget)

    def __init__(self, *args, packages=(), items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["package"].choices = [("", "—")] + [(p.code, f"{p.name} ({money(p.base_price)})") for p in packages]
        item_choices = [("", "—")] + [(i.code, f"{i.name} ({money(i.base_price)})") for i in items]
        self.fields["specialty_item_1"].choices = item_choices
        self.fields["specialty_item_2"].choices = item_choices

    def specialty_items(self) -> tuple[tuple[str, int], ...]:
        out = []
        for n in (1, 2):
            code = self.cleaned_data.get(f"specialty_item_{n}")
            if code:
                out.append((code, self.cleaned_data.get(f"specialty_qty_{n}") or 1))
        return tuple(out)


# --- changing a sold booking under its change policy (core.bookings.changes / rescheduling) -------------------
class OverrideFields(forms.Form):
    """Staff overriding the change policy: optional; a reason when used (core checks it again, and who may)."""

    waive_fee = forms.BooleanField(label="Waive the policy's fee", required=False, widget=UnfoldBooleanSwitchWidget)
    override_reason = forms.CharField(label="Reason for the override", max_length=500, required=False,
                                      widget=UnfoldAdminTextareaWidget(attrs={"rows": 2}),
                                      help_text="Required when overriding; recorded with the change and audited.")

    def clean(self):
        data = super().clean()
        if self.overrides(data) and not (data.get("override_reason") or "").strip():
            self.add_error("override_reason", "Say why you override the change policy.")
        return data

    def overrides(self, data) -> bool:
        return bool(data.get("waive_fee"))

    def override_values(self) -> dict | None:
        """ChangeOverride's arguments, or None when the policy applies as it is."""
        data = self.cleaned_data
        if not self.overrides(data):
            return None
        return {"reason": data["override_reason"].strip(), "waive_fee": bool(data.get("waive_fee"))}


class CancelRefundForm(OverrideFields):
    refund_amount = forms.DecimalField(label="Custom refund (USD)", required=False, max_digits=10, decimal_places=2,
                                       min_value=Decimal("0"), widget=UnfoldAdminDecimalFieldWidget,
                                       help_text="Instead of the policy's refund; at most what is left to refund.")
    field_order = ["waive_fee", "refund_amount", "override_reason"]

    def overrides(self, data) -> bool:
        return bool(data.get("waive_fee")) or data.get("refund_amount") is not None

    def override_values(self) -> dict | None:
        values = super().override_values()
        amount = self.cleaned_data.get("refund_amount")
        if values is not None and amount is not None:
            values["refund_cents"] = int(amount * 100)
        return values


class RescheduleForm(OverrideFields):
    pickup_date = forms.DateField(label="New pickup date", widget=UnfoldAdminSingleDateWidget)
    pickup_window = forms.ChoiceField(label="Pickup window", widget=UnfoldAdminSelectWidget)
    field_order = ["pickup_date", "pickup_window", "waive_fee", "override_reason"]

    def __init__(self, *args, windows=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pickup_window"].choices = list(windows)


ADDRESS_PARTS = [("line1", "Street", True), ("line2", "Apt / floor", False), ("city", "City", True),
                 ("state", "State", True), ("zip_code", "ZIP", True)]
SPECIALTY_SPARE_ROWS = 2  # empty specialty rows offered beyond the booking's own lines
SPECIALTY_MIN_ROWS = 3


def specialty_rows_for(lines: int, data=None) -> int:
    """Rows for a booking with `lines` specialty lines: all of them (never fewer, or a save would drop the
    extras) plus spare ones to add to. With posted `data`, rows up to the last one filled in count as lines, so
    each preview offers spare rows below what was chosen; never more rows than a booking may have lines."""
    if data is not None:
        filled = [n for n in range(1, MAX_SPECIALTY_LINES + 1) if data.get(f"specialty_item_{n}")]
        lines = max([lines, *filled])
    return min(max(lines + SPECIALTY_SPARE_ROWS, SPECIALTY_MIN_ROWS), max(lines, MAX_SPECIALTY_LINES))


class EditBookingForm(RescheduleForm):
    """A paid booking's date, window, addresses and items; what is left as it was is not sent as a change."""

    item_count = forms.IntegerField(label="Items", min_value=0, required=False, widget=UnfoldAdminIntegerFieldWidget,
                                    help_text="Standard delivery: the number of items.")
    package = forms.ChoiceField(label="Mini Move package", required=False, widget=UnfoldAdminSelectWidget)

    def __init__(self, *args, packages=(), items=(), specialty_rows=SPECIALTY_MIN_ROWS, **kwargs):
        super().__init__(*args, **kwargs)
        self.specialty_rows = specialty_rows
        for prefix, title in (("pickup", "Pickup"), ("dropoff", "Drop-off")):
            for part, label, required in ADDRESS_PARTS:
                self.fields[f"{prefix}_{part}"] = forms.CharField(
                    label=f"{title} {label.lower()}" if part != "line1" else f"{title} street", required=required,
                    max_length=200, widget=UnfoldAdminTextInputWidget)
        self.fields["package"].choices = [("", "—")] + [(p.code, f"{p.name} ({money(p.base_price)})")
                                                         for p in packages]
        item_choices = [("", "—")] + [(i.code, f"{i.name} ({money(i.base_price)})") for i in items]
        for n in range(1, self.specialty_rows + 1):
            self.fields[f"specialty_item_{n}"] = forms.ChoiceField(label="Specialty item", required=False,
                                                                   choices=item_choices,
                                                                   widget=UnfoldAdminSelectWidget)
            self.fields[f"specialty_qty_{n}"] = forms.IntegerField(label="Quantity", min_value=1, initial=1,
                                                                   required=False,
                                                                   widget=UnfoldAdminIntegerFieldWidget)
        # what is being changed first, the policy override last
        self.order_fields(["pickup_date", "pickup_window", "package", "item_count",
                           *[f"{prefix}_{part}" for prefix in ("pickup", "dropoff") for part, _l, _r in ADDRESS_PARTS],
                           *[f"specialty_{kind}_{n}" for n in range(1, self.specialty_rows + 1) for kind in ("item", "qty")],
                           "waive_fee", "override_reason"])

    def address(self, prefix: str) -> dict:
        return {part: (self.cleaned_data.get(f"{prefix}_{part}") or "").strip() for part, _l, _r in ADDRESS_PARTS}

    def specialty_items(self) -> tuple[tuple[str, int], ...]:
        chosen: dict[str, int] = {}
        for n in range(1, self.specialty_rows + 1):
            code = self.cleaned_data.get(f"specialty_item_{n}")
            if code:
                chosen[code] = chosen.get(code, 0) + (self.cleaned_data.get(f"specialty_qty_{n}") or 1)
        return tuple(sorted(chosen.items()))
