"""The phone booking form: parses what staff type into core's BookingRequest (the rules live in core)."""

from __future__ import annotations

from django import forms
from unfold.widgets import (
    UnfoldAdminCheckboxSelectMultipleWidget,
    UnfoldAdminEmailInputWidget,
    UnfoldAdminIntegerFieldWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminSingleDateWidget,
    UnfoldAdminTextareaWidget,
    UnfoldAdminTextInputWidget,
    UnfoldBooleanSwitchWidget,
)

from core.bookings.models import NOTES_MAX_LENGTH, PickupWindow
from core.bookings.requests import BookingRequest
from core.catalog.models import ServiceType
from core.customers.services import AddressData, CustomerData
from ops_console.formatting import money
from ops_console.forms import specialty_rows_for


def _text(label: str, *, max_length: int = 200, required: bool = True, **kwargs) -> forms.CharField:
    return forms.CharField(label=label, max_length=max_length, required=required,
                           widget=UnfoldAdminTextInputWidget, **kwargs)


class PhoneBookingForm(forms.Form):
    customer_name = _text("Customer name", max_length=200)
    customer_email = forms.EmailField(label="Email", widget=UnfoldAdminEmailInputWidget,
                                      help_text="Confirmation, payment link and manage link go here.")
    customer_phone = _text("Phone", max_length=20, help_text="For SMS (payment link, reminders).")
    pickup_address_line1 = _text("Pickup address")
    pickup_address_line2 = _text("Apt / floor", required=False)
    pickup_address_city = _text("City", max_length=100)
    pickup_address_state = _text("State", max_length=2, initial="NY")
    pickup_address_zip_code = _text("ZIP", max_length=10)
    dropoff_address_line1 = _text("Drop-off address")
    dropoff_address_line2 = _text("Apt / floor", required=False)
    dropoff_address_city = _text("City", max_length=100)
    dropoff_address_state = _text("State", max_length=2, initial="NY")
    dropoff_address_zip_code = _text("ZIP", max_length=10)
    booking_type = forms.ChoiceField(label="Service", choices=ServiceType.choices, widget=UnfoldAdminSelectWidget)
    package = forms.ChoiceField(label="Mini Move package", required=False, widget=UnfoldAdminSelectWidget,
                                help_text="Mini Move only.")
    item_count = forms.IntegerField(label="Items (standard delivery)", min_value=0, initial=0, required=False,
                                    widget=UnfoldAdminIntegerFieldWidget)
    pickup_date = forms.DateField(label="Pickup date", widget=UnfoldAdminSingleDateWidget)
    pickup_window = forms.ChoiceField(label="Pickup window", choices=PickupWindow.choices,
                                      initial=PickupWindow.FLEXIBLE, widget=UnfoldAdminSelectWidget)
    coi_required = forms.BooleanField(label="COI required", required=False, widget=UnfoldBooleanSwitchWidget,
                                      help_text="The pickup building needs a certificate of insurance.")
    notes = forms.CharField(label="Notes", required=False, max_length=NOTES_MAX_LENGTH,
                            widget=UnfoldAdminTextareaWidget(attrs={"rows": 3}),
                            help_text="From the customer (shown on the booking).")
    quote_id = forms.CharField(required=False, widget=forms.HiddenInput)

    CUSTOMER = ("customer_name", "customer_email", "customer_phone")
    ADDRESSES = tuple(f"{leg}_address_{part}" for leg in ("pickup", "dropoff")
                      for part in ("line1", "line2", "city", "state", "zip_code"))

    def __init__(self, data=None, *args, packages=(), items=(), **kwargs):
        super().__init__(data, *args, **kwargs)
        # spare rows below the last item chosen: a preview with three items offers a fourth and fifth
        self.specialty_rows = specialty_rows_for(0, data)
        self.fields["package"].choices = [("", "—")] + [(p.code, f"{p.name} ({money(p.base_price)})")
                                                        for p in packages]
        item_choices = [("", "—")] + [(i.code, f"{i.name} ({money(i.base_price)})") for i in items]
        for n in range(1, self.specialty_rows + 1):
            self.fields[f"specialty_item_{n}"] = forms.ChoiceField(
                label="Specialty item", required=False, choices=item_choices, widget=UnfoldAdminSelectWidget)
            self.fields[f"specialty_qty_{n}"] = forms.IntegerField(
                label="Quantity", min_value=1, max_value=99, initial=1, required=False,
                widget=UnfoldAdminIntegerFieldWidget)

    def groups(self):
        """(title, fields) for the page's cards."""
        service = ["booking_type", "package", "item_count"] + [
            f"specialty_{kind}_{n}" for n in range(1, self.specialty_rows + 1) for kind in ("item", "qty")]
        return [
            ("Customer", [self[name] for name in self.CUSTOMER]),
            ("Pickup", [self[name] for name in self.ADDRESSES[:5]]),
            ("Drop-off", [self[name] for name in self.ADDRESSES[5:]]),
            ("Service", [self[name] for name in service]),
            ("When", [self[name] for name in ("pickup_date", "pickup_window", "coi_required", "notes")]),
        ]

    def booking_request(self) -> BookingRequest:
        data = self.cleaned_data
        specialty: dict[str, int] = {}
        for n in range(1, self.specialty_rows + 1):
            if code := data.get(f"specialty_item_{n}"):
                specialty[code] = specialty.get(code, 0) + (data.get(f"specialty_qty_{n}") or 1)

        def address(leg: str) -> AddressData:
            return AddressData(**{part: data[f"{leg}_address_{part}"].strip()
                                  for part in ("line1", "line2", "city", "state", "zip_code")})

        return BookingRequest(
            booking_type=data["booking_type"], pickup_date=data["pickup_date"], pickup_window=data["pickup_window"],
            package=data.get("package") or None, item_count=data.get("item_count") or 0,
            specialty_items=tuple(specialty.items()), coi_required=data.get("coi_required", False),
            customer=CustomerData(name=data["customer_name"].strip(), email=data["customer_email"].strip(),
                                  phone=data["customer_phone"].strip()),
            pickup_address=address("pickup"), dropoff_address=address("dropoff"),
            notes=data.get("notes", "").strip(), quote_id=data.get("quote_id") or None,
        )

    def add_core_errors(self, fields: dict) -> None:
        """A DomainError's fields ("customer.email", "pickup_address.zip_code", …) on the matching inputs."""
        for key, messages in (fields or {}).items():
            if key == "alternatives":
                continue
            name = key.replace(".", "_")
            if key.startswith("specialty_items."):
                index = key.split(".")[1]
                name = f"specialty_item_{int(index) + 1}" if index.isdigit() else None
            texts = [str(m) for m in (messages if isinstance(messages, (list, tuple)) else [messages])]
            for text in texts:
                self.add_error(name if name in self.fields else None, text)


class PayLinkForm(forms.Form):
    channels = forms.MultipleChoiceField(label="Send by", choices=[("email", "Email"), ("sms", "SMS")],
                                         initial=["email"], widget=UnfoldAdminCheckboxSelectMultipleWidget,
                                         help_text="A link to the website's payment page (a Stripe card payment).")
