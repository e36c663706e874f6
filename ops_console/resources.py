"""django-import-export resources for the console (bookings, customers, catalog, payments).

Import semantics:
- Customers and the catalog (packages, specialty items, surcharge rules) are importable. Rows are matched
  on a stable natural key (customer email, case-insensitively; catalog `code`), so re-importing a file
  creates nothing new, and unchanged rows are skipped (no save, so no extra history row).
- Every imported row goes through the model's `full_clean()` (validators + check constraints), so a bad
  price or a bad email is a per-row validation error shown in the dry-run preview, never a crash.
- Rows are saved one by one with `save()` (no `use_bulk`): simple-history then writes one history row per
  created/changed record with the acting user, IP and user agent from the audit context, and an in-file
  duplicate is seen by the next row's lookup. Catalog files are tens of rows and customer files thousands,
  so the 3.7x of `use_bulk` (FIELD_NOTES) is not worth losing idempotent matching and per-row errors.
- Bookings and payments are export-only: their writes go through core services (status machine, pricing,
  refunds, audit), which a spreadsheet import would bypass. Their resources refuse `import_data`.

Exports escape spreadsheet formulae themselves (`ops_console.formulas.escape_formula`): import-export's own
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT only strips a leading "=" and turns every XLSX cell into text.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone
from import_export import fields, resources, widgets
from import_export.instance_loaders import ModelInstanceLoader

from core import models as m
from core.catalog.validation import surcharge_rule_problems
from core.common.money import from_cents
from core.customers.validators import normalize_phone
from ops_console.formulas import escape_formula, unescape_formula

# --- Widgets ---------------------------------------------------------------------------------------------


class MoneyWidget(widgets.Widget):
    """Dollars as "1234.50" in text formats (a number in XLSX); accepts "$1,234.50"; bad input is a row error."""

    def clean(self, value, row=None, **kwargs):
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, float):
            value = repr(value)
        text = str(value).strip().replace("$", "").replace(",", "")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"Enter an amount in dollars, e.g. 1234.50 (got {value!r}).") from None
        if not amount.is_finite():
            raise ValueError(f"Enter an amount in dollars, e.g. 1234.50 (got {value!r}).")
        return amount

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return None if kwargs.get("force_native_type") else ""
        value = Decimal(value).quantize(Decimal("0.01"))
        return value if kwargs.get("force_native_type") else f"{value:.2f}"


class CentsAsDollarsWidget(widgets.Widget):
    """Export-only: integer cents (the provider boundary) shown as dollars."""

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return None if kwargs.get("force_native_type") else ""
        dollars = from_cents(value)
        return dollars if kwargs.get("force_native_type") else f"{dollars:.2f}"


class IsoDateWidget(widgets.DateWidget):
    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class IsoDateTimeWidget(widgets.Widget):
    """Export-only: an aware timestamp as ISO 8601 in New York time (naive local time in XLSX)."""

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return None if kwargs.get("force_native_type") else ""
        local = timezone.localtime(value)
        if kwargs.get("force_native_type"):
            return local.replace(tzinfo=None)  # openpyxl cannot store aware datetimes
        return local.isoformat(timespec="seconds")


class StrictBooleanWidget(widgets.BooleanWidget):
    """Like BooleanWidget, but "Yes"/"No" work and anything unknown is a row error instead of a silent False."""

    TRUE_TEXT = {"1", "true", "yes", "y"}
    FALSE_TEXT = {"0", "false", "no", "n"}

    def clean(self, value, row=None, **kwargs):
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in self.TRUE_TEXT:
            return True
        if text in self.FALSE_TEXT:
            return False
        raise ValueError(f"Enter yes or no (got {value!r}).")


class PhoneWidget(widgets.CharWidget):
    """Normalises to E.164 with the same parser as core (US default region)."""

    def clean(self, value, row=None, **kwargs):
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():  # XLSX stores 2125550123 as a number
            value = int(value)
        text = str(value).strip()
        if not text:
            return ""
        try:
            return normalize_phone(text)
        except ValidationError as exc:
            raise ValueError(exc.messages[0]) from None


class ListWidget(widgets.Widget):
    """A JSON list column: "[6, 7]" or "6, 7"; empty means []. Renders [] as "[]" so it round-trips."""

    def __init__(self, item_type=str, **kwargs):
        self.item_type = item_type
        super().__init__(**kwargs)

    def clean(self, value, row=None, **kwargs):
        if value is None:
            return []
        if isinstance(value, (int, float)):
            value = str(int(value))
        text = str(value).strip()
        if not text:
            return []
        if text.startswith("["):
            try:
                items = json.loads(text)
            except json.JSONDecodeError:
                raise ValueError(f"Enter a list such as [6, 7] (got {value!r}).") from None
            if not isinstance(items, list):
                raise ValueError(f"Enter a list such as [6, 7] (got {value!r}).")
        else:
            items = [part.strip() for part in text.split(",") if part.strip()]
        try:
            return [self.item_type(item) for item in items]
        except (TypeError, ValueError):
            raise ValueError(f"Enter a list such as [6, 7] (got {value!r}).") from None

    def render(self, value, obj=None, **kwargs):
        return json.dumps(list(value or []))


# --- Bases -----------------------------------------------------------------------------------------------


class OpsResource(resources.ModelResource):
    """Escapes formulae on export and unescapes them on import; per-row full_clean; idempotent re-import."""

    def export_field(self, field, instance, **kwargs):
        value = super().export_field(field, instance, **kwargs)
        return escape_formula(value) if isinstance(value, str) else value

    def before_import_row(self, row, **kwargs):
        for key, value in row.items():
            if isinstance(value, str):
                row[key] = unescape_formula(value.strip())
        super().before_import_row(row, **kwargs)


class ImportRefused(Exception):
    pass


class ExportOnlyResource(OpsResource):
    """For records only core services may write: importing is refused as a whole, before any row is read."""

    import_refused_reason = "This data is export-only in the console."

    def import_data(self, dataset, dry_run=False, raise_errors=False, **kwargs):
        result = self.get_result_class()()
        result.total_rows = len(dataset)
        self.handle_import_error(result, ImportRefused(self.import_refused_reason), raise_errors)
        return result


# --- Bookings (export-only) ------------------------------------------------------------------------------


def _address_text(address) -> str:
    return str(address) if address is not None else ""


class BookingResource(ExportOnlyResource):
    import_refused_reason = ("Bookings are export-only: create and change them through the booking desk, "
                             "which prices, schedules and audits every change.")

    booking_number = fields.Field(attribute="booking_number", column_name="booking_number")
    status = fields.Field(attribute="status", column_name="status")
    payment_status = fields.Field(attribute="payment_status", column_name="payment_status")
    booking_type = fields.Field(attribute="booking_type", column_name="booking_type")
    pickup_date = fields.Field(attribute="pickup_date", column_name="pickup_date", widget=IsoDateWidget())
    pickup_window = fields.Field(attribute="pickup_window", column_name="pickup_window")
    customer_name = fields.Field(attribute="customer__name", column_name="customer_name")
    customer_email = fields.Field(attribute="customer__email", column_name="customer_email")
    customer_phone = fields.Field(attribute="customer__phone", column_name="customer_phone")
    pickup_address = fields.Field(column_name="pickup_address")
    dropoff_address = fields.Field(column_name="dropoff_address")
    package = fields.Field(attribute="package__code", column_name="package")
    item_count = fields.Field(attribute="item_count", column_name="item_count", widget=widgets.IntegerWidget())
    coi_required = fields.Field(attribute="coi_required", column_name="coi_required",
                                widget=widgets.BooleanWidget())
    base_price = fields.Field(attribute="base_price", column_name="base_price", widget=MoneyWidget())
    specialty_items_total = fields.Field(attribute="specialty_items_total", column_name="specialty_items_total",
                                         widget=MoneyWidget())
    surcharge_total = fields.Field(attribute="surcharge_total", column_name="surcharge_total", widget=MoneyWidget())
    coi_fee = fields.Field(attribute="coi_fee", column_name="coi_fee", widget=MoneyWidget())
    total_price = fields.Field(attribute="total_price", column_name="total_price", widget=MoneyWidget())
    stripe_payment_intent_id = fields.Field(attribute="stripe_payment_intent_id",
                                            column_name="stripe_payment_intent_id")
    notes = fields.Field(attribute="notes", column_name="notes")
    created_at = fields.Field(attribute="created_at", column_name="created_at", widget=IsoDateTimeWidget())

    class Meta:
        model = m.Booking
        import_id_fields = ["booking_number"]
        fields = (  # the declared columns only, in this order
            "booking_number", "status", "payment_status", "booking_type", "pickup_date", "pickup_window",
            "customer_name", "customer_email", "customer_phone", "pickup_address", "dropoff_address", "package",
            "item_count", "coi_required", "base_price", "specialty_items_total", "surcharge_total", "coi_fee",
            "total_price", "stripe_payment_intent_id", "notes", "created_at",
        )

    def dehydrate_pickup_address(self, booking):
        return _address_text(booking.pickup_address)

    def dehydrate_dropoff_address(self, booking):
        return _address_text(booking.dropoff_address)

    def filter_export(self, queryset, **kwargs):
        # The changelist selects only `customer`; every row also shows both addresses and the package.
        return queryset.select_related("customer", "pickup_address", "dropoff_address", "package")


# --- Payments (export-only) ------------------------------------------------------------------------------


class PaymentResource(ExportOnlyResource):
    import_refused_reason = ("Payments are export-only: they are written by the payment and refund services "
                             "(Stripe webhooks, offline payments), which keep the audit trail.")

    booking_number = fields.Field(attribute="booking__booking_number", column_name="booking_number")
    stripe_payment_intent_id = fields.Field(attribute="stripe_payment_intent_id",
                                            column_name="stripe_payment_intent_id")
    amount = fields.Field(attribute="amount_cents", column_name="amount", widget=CentsAsDollarsWidget())
    refunded = fields.Field(attribute="refunded_cents", column_name="refunded", widget=CentsAsDollarsWidget())
    stripe_fee = fields.Field(attribute="stripe_fee_cents", column_name="stripe_fee", widget=CentsAsDollarsWidget())
    currency = fields.Field(attribute="currency", column_name="currency")
    status = fields.Field(attribute="status", column_name="status")
    method = fields.Field(attribute="method", column_name="method")
    payment_method_type = fields.Field(attribute="payment_method_type", column_name="payment_method_type")
    stripe_charge_id = fields.Field(attribute="stripe_charge_id", column_name="stripe_charge_id")
    reference = fields.Field(attribute="reference", column_name="reference")
    succeeded_at = fields.Field(attribute="succeeded_at", column_name="succeeded_at", widget=IsoDateTimeWidget())
    failed_at = fields.Field(attribute="failed_at", column_name="failed_at", widget=IsoDateTimeWidget())
    failure_reason = fields.Field(attribute="failure_reason", column_name="failure_reason")
    created_at = fields.Field(attribute="created_at", column_name="created_at", widget=IsoDateTimeWidget())

    class Meta:
        model = m.Payment
        import_id_fields = ["stripe_payment_intent_id"]
        fields = (
            "booking_number", "stripe_payment_intent_id", "amount", "refunded", "stripe_fee", "currency", "status",
            "method", "payment_method_type", "stripe_charge_id", "reference", "succeeded_at", "failed_at",
            "failure_reason", "created_at",
        )

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("booking")


# --- Customers -------------------------------------------------------------------------------------------


class EmailInstanceLoader(ModelInstanceLoader):
    """Match customers by email case-insensitively, like the unique constraint (Lower(email)) does."""

    def get_instance(self, row):
        email = self.resource.fields["email"].clean(row)
        if not email:
            return None
        return self.get_queryset().filter(email__iexact=email.strip()).first()


class CustomerResource(OpsResource):
    email = fields.Field(attribute="email", column_name="email", widget=widgets.CharWidget())
    name = fields.Field(attribute="name", column_name="name", widget=widgets.CharWidget())
    phone = fields.Field(attribute="phone", column_name="phone", widget=PhoneWidget())
    staff_notes = fields.Field(attribute="staff_notes", column_name="staff_notes", widget=widgets.CharWidget())
    total_bookings_count = fields.Field(attribute="total_bookings_count", column_name="total_bookings_count",
                                        readonly=True, widget=widgets.IntegerWidget())
    created_at = fields.Field(attribute="created_at", column_name="created_at", readonly=True,
                              widget=IsoDateTimeWidget())

    class Meta:
        model = m.CustomerProfile
        import_id_fields = ["email"]
        fields = ("email", "name", "phone", "staff_notes", "total_bookings_count", "created_at")
        instance_loader_class = EmailInstanceLoader
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    def after_init_instance(self, instance, new, row, **kwargs):
        instance._stored_email = "" if new else instance.email
        super().after_init_instance(instance, new, row, **kwargs)

    def import_instance(self, instance, row, **kwargs):
        super().import_instance(instance, row, **kwargs)
        stored = getattr(instance, "_stored_email", "")
        # Same address, different capitalisation: keep the stored spelling (no spurious change, no history row).
        if stored and instance.email and instance.email.lower() == stored.lower():
            instance.email = stored


# --- Catalog ---------------------------------------------------------------------------------------------


class CatalogResource(OpsResource):
    """Catalog rows are matched on `code`; a blank boolean cell keeps the current value (or the default)."""

    code = fields.Field(attribute="code", column_name="code", widget=widgets.CharWidget())
    name = fields.Field(attribute="name", column_name="name", widget=widgets.CharWidget())

    class Meta:
        import_id_fields = ["code"]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True


def _bool_field(name: str) -> fields.Field:
    return fields.Field(attribute=name, column_name=name, widget=StrictBooleanWidget(), saves_null_values=False)


class MiniMovePackageResource(CatalogResource):
    max_items = fields.Field(attribute="max_items", column_name="max_items", widget=widgets.IntegerWidget())
    base_price = fields.Field(attribute="base_price", column_name="base_price", widget=MoneyWidget())
    coi_included = _bool_field("coi_included")
    description = fields.Field(attribute="description", column_name="description", widget=widgets.CharWidget())
    is_active = _bool_field("is_active")
    sort_order = fields.Field(attribute="sort_order", column_name="sort_order", widget=widgets.IntegerWidget(),
                              saves_null_values=False)

    class Meta:
        model = m.MiniMovePackage
        fields = ("code", "name", "max_items", "base_price", "coi_included", "description", "is_active",
                  "sort_order")


class SpecialtyItemResource(CatalogResource):
    base_price = fields.Field(attribute="base_price", column_name="base_price", widget=MoneyWidget())
    requires_van_availability = _bool_field("requires_van_availability")
    weight_limit = fields.Field(attribute="weight_limit", column_name="weight_limit", widget=widgets.IntegerWidget())
    special_handling_notes = fields.Field(attribute="special_handling_notes", column_name="special_handling_notes",
                                          widget=widgets.CharWidget())
    is_active = _bool_field("is_active")

    class Meta:
        model = m.SpecialtyItem
        fields = ("code", "name", "base_price", "requires_van_availability", "weight_limit",
                  "special_handling_notes", "is_active")


class SurchargeRuleResource(CatalogResource):
    rule_type = fields.Field(attribute="rule_type", column_name="rule_type", widget=widgets.CharWidget())
    amount = fields.Field(attribute="amount", column_name="amount", widget=MoneyWidget())
    is_percentage = _bool_field("is_percentage")
    start_date = fields.Field(attribute="start_date", column_name="start_date", widget=IsoDateWidget())
    end_date = fields.Field(attribute="end_date", column_name="end_date", widget=IsoDateWidget())
    recurs_annually = _bool_field("recurs_annually")
    weekdays = fields.Field(attribute="weekdays", column_name="weekdays", widget=ListWidget(item_type=int))
    applies_to = fields.Field(attribute="applies_to", column_name="applies_to", widget=ListWidget(item_type=str))
    is_active = _bool_field("is_active")

    class Meta:
        model = m.SurchargeRule
        fields = ("code", "name", "rule_type", "amount", "is_percentage", "start_date", "end_date",
                  "recurs_annually", "weekdays", "applies_to", "is_active")

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        problems = surcharge_rule_problems(
            rule_type=instance.rule_type, amount=instance.amount, is_percentage=instance.is_percentage,
            start_date=instance.start_date, end_date=instance.end_date, recurs_annually=instance.recurs_annually,
            weekdays=instance.weekdays, applies_to=instance.applies_to)
        for field, messages in problems.items():
            if field not in errors:
                errors[field] = [ValidationError(message) for message in messages]
        if errors:
            raise ValidationError(errors)
