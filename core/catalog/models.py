from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models

from core.common.models import BaseModel, audited_history

SERVICE_TYPES = ["mini_move", "standard", "specialty"]
NON_NEGATIVE = [MinValueValidator(Decimal("0.00"))]


class ServiceType(models.TextChoices):
    MINI_MOVE = "mini_move", "Mini Move"
    STANDARD = "standard", "Standard delivery"
    SPECIALTY = "specialty", "Specialty items"


class MiniMovePackage(BaseModel):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    max_items = models.PositiveIntegerField(null=True, blank=True, help_text="Empty means unlimited.")
    base_price = models.DecimalField(max_digits=10, decimal_places=2, validators=NON_NEGATIVE)
    coi_included = models.BooleanField(default=False)
    description = models.TextField(blank=True, default="")
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    history = audited_history()

    class Meta:
        db_table = "catalog_minimovepackage"
        ordering = ["sort_order", "base_price"]
        constraints = [
            models.CheckConstraint(condition=models.Q(base_price__gte=0), name="package_price_non_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class SpecialtyItem(BaseModel):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    base_price = models.DecimalField(max_digits=10, decimal_places=2, validators=NON_NEGATIVE)
    requires_van_availability = models.BooleanField(default=True)
    weight_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Pounds.")
    special_handling_notes = models.TextField(blank=True, default="")
    is_active = models.BooleanField(default=True)

    history = audited_history()

    class Meta:
        db_table = "catalog_specialtyitem"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(base_price__gte=0), name="specialty_price_non_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class StandardDeliveryRate(BaseModel):
    """Standard delivery pricing: price_per_item × max(item_count, minimum_items). The active row applies."""

    price_per_item = models.DecimalField(max_digits=10, decimal_places=2, validators=NON_NEGATIVE)
    minimum_items = models.PositiveIntegerField(default=1)
    is_active = models.BooleanField(default=True)

    history = audited_history()

    class Meta:
        db_table = "catalog_standarddeliveryrate"
        constraints = [
            models.CheckConstraint(condition=models.Q(price_per_item__gte=0), name="standard_rate_non_negative"),
            models.CheckConstraint(condition=models.Q(minimum_items__gte=1), name="standard_rate_min_items"),
            models.UniqueConstraint(
                fields=["is_active"], condition=models.Q(is_active=True), name="one_active_standard_rate"
            ),
        ]

    def __str__(self) -> str:
        return f"${self.price_per_item}/item, minimum {self.minimum_items}"


class SurchargeRule(BaseModel):
    class RuleType(models.TextChoices):
        DATE_RANGE = "date_range", "Date range"
        DAY_OF_WEEK = "day_of_week", "Day of week"
        HOLIDAY = "holiday", "US federal holiday"

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    rule_type = models.CharField(max_length=20, choices=RuleType.choices)
    amount = models.DecimalField(
        max_digits=10, decimal_places=2, validators=NON_NEGATIVE, help_text="Dollars, or percent when percentage."
    )
    is_percentage = models.BooleanField(default=False)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    recurs_annually = models.BooleanField(
        default=False, help_text="Date ranges: apply every year between the same month/day (e.g. peak season)."
    )
    weekdays = models.JSONField(default=list, blank=True, help_text="ISO weekdays 1=Mon … 7=Sun.")
    applies_to = models.JSONField(default=list, blank=True, help_text="Service types; empty = all.")
    is_active = models.BooleanField(default=True)

    history = audited_history()

    class Meta:
        db_table = "catalog_surchargerule"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="surcharge_amount_non_negative"),
            models.CheckConstraint(
                condition=models.Q(rule_type__in=["date_range", "day_of_week", "holiday"]),
                name="surcharge_rule_type_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(rule_type="date_range")
                | (models.Q(start_date__isnull=False, end_date__isnull=False)
                   & (models.Q(end_date__gte=models.F("start_date")) | models.Q(recurs_annually=True))),
                name="surcharge_date_range_complete",
            ),
            models.CheckConstraint(
                condition=models.Q(is_percentage=False) | models.Q(amount__lte=100),
                name="surcharge_percentage_at_most_100",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class VanSchedule(BaseModel):
    """Per-date overrides: capacity (0 = closed), specialty availability, a flat surcharge override."""

    date = models.DateField(unique=True)
    capacity_override = models.PositiveIntegerField(null=True, blank=True, help_text="0 closes the date.")
    specialty_items_available = models.BooleanField(default=True)
    surcharge_override = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, validators=NON_NEGATIVE,
        help_text="Replaces the computed surcharges for this date.",
    )
    notes = models.TextField(blank=True, default="")
    is_active = models.BooleanField(default=True)

    history = audited_history()

    class Meta:
        db_table = "catalog_vanschedule"
        ordering = ["date"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(surcharge_override__isnull=True) | models.Q(surcharge_override__gte=0),
                name="vanschedule_override_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"Van schedule {self.date:%Y-%m-%d}"


class ServiceDay(models.Model):
    """One row per service date that has bookings: the row lock that serialises capacity checks for that date."""

    date = models.DateField(primary_key=True)

    class Meta:
        db_table = "catalog_serviceday"
