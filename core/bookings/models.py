import uuid

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models

from core.catalog.models import NON_NEGATIVE, SERVICE_TYPES, ServiceType
from core.common.models import BaseModel, audited_history


class BookingStatus(models.TextChoices):
    PENDING = "pending", "Pending payment"
    PAID = "paid", "Paid"
    SCHEDULED = "scheduled", "Scheduled"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class PickupWindow(models.TextChoices):
    MORNING = "morning", "Morning (8am–12pm)"
    AFTERNOON = "afternoon", "Afternoon (12pm–5pm)"
    FLEXIBLE = "flexible", "Flexible"


# New York hours of each pickup window, [start, end): the one definition (dispatch legs, the change policy's
# clock and buildings' move hours all read it).
PICKUP_WINDOW_HOURS = {PickupWindow.MORNING: (8, 12), PickupWindow.AFTERNOON: (12, 17),
                       PickupWindow.FLEXIBLE: (8, 17)}


class PaymentState(models.TextChoices):
    """The booking's payment summary, kept by the payments services for fast filtering."""

    UNPAID = "unpaid", "Unpaid"
    PROCESSING = "processing", "Processing"
    PAID = "paid", "Paid"
    BALANCE_DUE = "balance_due", "Balance due"  # paid, then changed to cost more: the difference is owed
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"
    FAILED = "failed", "Failed"


class BookingSource(models.TextChoices):
    WEB = "web", "Website"
    PHONE = "phone", "Phone (staff)"


NOTES_MAX_LENGTH = 2000  # the customer's notes: enforced by the model (console) and the booking service (API)


class Booking(BaseModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    booking_number = models.CharField(max_length=20, unique=True, editable=False)
    booking_type = models.CharField(max_length=20, choices=ServiceType.choices, db_index=True)
    status = models.CharField(max_length=20, choices=BookingStatus.choices, default=BookingStatus.PENDING,
                              db_index=True)
    payment_status = models.CharField(max_length=20, choices=PaymentState.choices, default=PaymentState.UNPAID,
                                      db_index=True)
    customer = models.ForeignKey("core.CustomerProfile", on_delete=models.PROTECT, related_name="bookings")
    pickup_address = models.ForeignKey("core.Address", on_delete=models.PROTECT, related_name="+")
    dropoff_address = models.ForeignKey("core.Address", on_delete=models.PROTECT, related_name="+")
    pickup_date = models.DateField(db_index=True)
    pickup_window = models.CharField(max_length=10, choices=PickupWindow.choices, default=PickupWindow.FLEXIBLE)
    package = models.ForeignKey("core.MiniMovePackage", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="bookings")
    item_count = models.PositiveIntegerField(default=0)
    coi_required = models.BooleanField(default=False)
    base_price = models.DecimalField(max_digits=10, decimal_places=2, validators=NON_NEGATIVE)
    specialty_items_total = models.DecimalField(max_digits=10, decimal_places=2, default=0, validators=NON_NEGATIVE)
    surcharges = models.JSONField(default=list, blank=True)
    surcharge_total = models.DecimalField(max_digits=10, decimal_places=2, default=0, validators=NON_NEGATIVE)
    coi_fee = models.DecimalField(max_digits=10, decimal_places=2, default=0, validators=NON_NEGATIVE)
    total_price = models.DecimalField(max_digits=10, decimal_places=2, validators=NON_NEGATIVE)
    price_breakdown = models.JSONField(default=dict, blank=True, help_text="The breakdown it was sold at.")
    change_policy = models.ForeignKey("core.ChangePolicy", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+", help_text="The change policy it was sold under.")
    quote = models.ForeignKey("core.Quote", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    onfleet_pickup_task_id = models.CharField(max_length=64, blank=True, default="")
    onfleet_dropoff_task_id = models.CharField(max_length=64, blank=True, default="")
    tracking_url = models.URLField(blank=True, default="")
    notes = models.TextField(blank=True, default="", help_text="From the customer.",
                             validators=[MaxLengthValidator(NOTES_MAX_LENGTH)])
    access_token_hash = models.CharField(max_length=64, editable=False)
    hold_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    cancelled_at = models.DateTimeField(null=True, blank=True, db_index=True)
    cancellation_reason = models.TextField(blank=True, default="")
    source = models.CharField(max_length=10, choices=BookingSource.choices, default=BookingSource.WEB,
                              help_text="Who took it: the website, or staff on the phone.")
    needs_attention = models.BooleanField(default=False, db_index=True)
    attention_reason = models.CharField(max_length=255, blank=True, default="")
    attention_due = models.DateTimeField(null=True, blank=True)
    specialty_items = models.ManyToManyField("core.SpecialtyItem", through="core.BookingSpecialtyItem", blank=True)

    history = audited_history(excluded_fields=["access_token_hash"])

    class Meta:
        db_table = "bookings_booking"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(booking_type__in=SERVICE_TYPES), name="booking_type_valid"),
            models.CheckConstraint(condition=models.Q(status__in=BookingStatus.values), name="booking_status_valid"),
            models.CheckConstraint(condition=models.Q(payment_status__in=PaymentState.values),
                                   name="booking_payment_status_valid"),
            models.CheckConstraint(condition=models.Q(source__in=BookingSource.values), name="booking_source_valid"),
            models.CheckConstraint(condition=models.Q(pickup_window__in=PickupWindow.values),
                                   name="booking_pickup_window_valid"),
            models.CheckConstraint(
                condition=models.Q(base_price__gte=0, specialty_items_total__gte=0, surcharge_total__gte=0,
                                   coi_fee__gte=0, total_price__gte=0),
                name="booking_money_non_negative",
            ),
            models.CheckConstraint(
                condition=~models.Q(booking_type="mini_move") | models.Q(package__isnull=False),
                name="booking_mini_move_has_package",
            ),
            models.CheckConstraint(condition=models.Q(booking_number__regex=r"^TT-[0-9]{4}-[0-9]{6}$"),
                                   name="booking_number_format"),
            models.CheckConstraint(
                condition=~models.Q(status="cancelled") | models.Q(cancelled_at__isnull=False),
                name="booking_cancelled_has_timestamp",
            ),
        ]
        indexes = [
            models.Index(fields=["pickup_date", "status"], name="booking_date_status_idx"),
            models.Index(fields=["status", "hold_expires_at"], name="booking_status_hold_idx"),
            models.Index(fields=["-created_at"], name="booking_created_desc_idx"),
        ]

    def __str__(self) -> str:
        return self.booking_number


class BookingSpecialtyItem(models.Model):
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="specialty_lines")
    item = models.ForeignKey("core.SpecialtyItem", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2, validators=NON_NEGATIVE)

    history = audited_history()

    class Meta:
        db_table = "bookings_specialtyitem"
        constraints = [
            models.UniqueConstraint(fields=["booking", "item"], name="booking_specialty_item_unique"),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="booking_specialty_qty_positive"),
            models.CheckConstraint(condition=models.Q(unit_price__gte=0), name="booking_specialty_price_non_neg"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.item_id}"


class BookingStatusChange(models.Model):
    """Every status transition, with who made it and why."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=20, blank=True, default="")
    to_status = models.CharField(max_length=20, choices=BookingStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "bookings_statuschange"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}"


class BookingNote(models.Model):
    """A staff note on a booking (internal, never shown to the customer)."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="staff_notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "bookings_note"
        ordering = ["-created_at"]


class BookingNumberSequence(models.Model):
    """Last booking number used per year; incremented with one atomic upsert (see numbers.py)."""

    year = models.PositiveIntegerField(primary_key=True)
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "bookings_number_sequence"


class Quote(BaseModel):
    """A priced booking request, honoured by POST /bookings/ until it expires."""

    # Every bookings/preview/ call inserts one: only the indexes something reads are kept (the primary key
    # for POST bookings/, expires_at for the console's list and the purge). Each extra one was another
    # B-tree write per preview; request_hash is compared after the lookup by id, never searched.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    request_hash = models.CharField(max_length=64)
    request = models.JSONField()
    breakdown = models.JSONField()
    total_price = models.DecimalField(max_digits=10, decimal_places=2, validators=NON_NEGATIVE)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "bookings_quote"
        ordering = ["-expires_at"]  # created_at + QUOTE_MINUTES: the same order, on an index

    def __str__(self) -> str:
        return f"Quote {self.id} (${self.total_price})"


class IdempotencyRecord(models.Model):
    """An Idempotency-Key seen by the API: same key + same body replays the stored response."""

    scope = models.CharField(max_length=40)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    booking = models.ForeignKey(Booking, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "bookings_idempotency"
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key_unique")]
