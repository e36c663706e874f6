from django.conf import settings
from django.db import models

from core.common.models import BaseModel, StoredEvent, audited_history


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


class PaymentMethod(models.TextChoices):
    STRIPE = "stripe", "Stripe"
    TEST_MODE = "test_mode", "Local test mode"
    CASH = "cash", "Cash"
    CHECK = "check", "Check"
    OTHER = "other", "Other offline"


class Payment(BaseModel):
    """One attempt to collect a booking's total at one amount (one Stripe PaymentIntent)."""

    booking = models.ForeignKey("core.Booking", on_delete=models.PROTECT, related_name="payments")
    stripe_payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="usd")
    status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING,
                              db_index=True)
    method = models.CharField(max_length=20, choices=PaymentMethod.choices, default=PaymentMethod.STRIPE)
    payment_method_type = models.CharField(max_length=40, blank=True, default="", help_text="e.g. card")
    stripe_charge_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    stripe_fee_cents = models.PositiveIntegerField(null=True, blank=True)
    webhook_received = models.BooleanField(default=False)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.TextField(blank=True, default="")
    refunded_cents = models.PositiveIntegerField(default=0)
    reference = models.CharField(max_length=100, blank=True, default="", help_text="Check number, receipt …")
    # A balance after a change that cost more (a reschedule to a dearer date, a change fee): not the booking's
    # first payment, so settling it must not re-run the first payment's side effects.
    change_quote = models.ForeignKey("core.ChangeQuote", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="balance_payments")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    history = audited_history()

    class Meta:
        db_table = "payments_payment"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=PaymentStatus.values), name="payment_status_valid"),
            models.CheckConstraint(condition=models.Q(method__in=PaymentMethod.values), name="payment_method_valid"),
            models.CheckConstraint(condition=models.Q(refunded_cents__lte=models.F("amount_cents")),
                                   name="payment_refunds_within_amount"),
            # One live (not failed/canceled) Stripe attempt per booking and amount (balances: per change).
            models.UniqueConstraint(
                fields=["booking", "amount_cents"],
                condition=models.Q(method="stripe", status__in=["pending", "processing", "succeeded"],
                                   change_quote__isnull=True),
                name="payment_one_live_intent_per_booking_amount",
            ),
            models.UniqueConstraint(
                fields=["change_quote"],
                condition=models.Q(method__in=["stripe", "test_mode"],
                                   status__in=["pending", "processing", "succeeded"]),
                name="payment_one_live_balance_per_change",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stripe_payment_intent_id or self.method} ${self.amount_cents / 100:.2f} {self.status}"

    @property
    def refundable_cents(self) -> int:
        from core.payments.selectors import payment_refundable_cents

        return payment_refundable_cents(payment=self)


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


class Refund(BaseModel):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    stripe_refund_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    amount_cents = models.PositiveIntegerField()
    reason = models.CharField(max_length=40, default="requested_by_customer")
    status = models.CharField(max_length=20, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    processed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    notes = models.TextField(blank=True, default="")
    failure_reason = models.TextField(blank=True, default="")
    processed_at = models.DateTimeField(null=True, blank=True)

    history = audited_history()

    class Meta:
        db_table = "payments_refund"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_cents__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(condition=models.Q(status__in=RefundStatus.values), name="refund_status_valid"),
        ]

    def __str__(self) -> str:
        return f"Refund ${self.amount_cents / 100:.2f} {self.status}"


class PaymentAudit(models.Model):
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="audits")
    booking = models.ForeignKey("core.Booking", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="payment_audits")
    action = models.CharField(max_length=60, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    details = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "payments_audit"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.action} @ {self.created_at:%Y-%m-%d %H:%M}"


class ProviderEvent(StoredEvent):
    """Every webhook event received from a provider, stored once so a replay is recognised."""

    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=100, db_index=True)

    class Meta:
        db_table = "payments_providerevent"
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="provider_event_unique")]

    def __str__(self) -> str:
        return f"{self.provider}:{self.event_type} {self.event_id}"


class ReconciliationMismatch(models.Model):
    """A difference between Stripe and our records found by the daily reconciliation job."""

    run_date = models.DateField(db_index=True)
    kind = models.CharField(max_length=60)
    stripe_object_id = models.CharField(max_length=255, blank=True, default="")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    details = models.JSONField(default=dict, blank=True)
    resolved = models.BooleanField(default=False)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "payments_reconciliation_mismatch"
        ordering = ["-run_date", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["run_date", "kind", "stripe_object_id"],
                                    name="reconciliation_mismatch_unique"),
        ]


class DisputeOutcome(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"
    CLOSED = "closed", "Closed (inquiry, no chargeback)"


# Stripe's dispute statuses that end it, and what each means for us (warning_closed: an inquiry that never
# became a chargeback). Anything else is still open.
DISPUTE_FINAL_STATUSES = {"won": DisputeOutcome.WON, "lost": DisputeOutcome.LOST,
                          "warning_closed": DisputeOutcome.CLOSED}


class Dispute(BaseModel):
    """One Stripe dispute of a payment: opened (charge.dispute.created), then won or lost (charge.dispute.closed).

    Keyed by Stripe's id, so webhook replays and out-of-order events update one row; a closed dispute never
    reopens. `closed_at` is when Stripe closed it (the closing event's time), the day a lost one costs us.
    """

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="disputes")
    stripe_dispute_id = models.CharField(max_length=255, unique=True)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="usd")
    reason = models.CharField(max_length=60, blank=True, default="")
    stripe_status = models.CharField(max_length=40, blank=True, default="")
    outcome = models.CharField(max_length=10, choices=DisputeOutcome.choices, default=DisputeOutcome.OPEN,
                               db_index=True)
    opened_at = models.DateTimeField(db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    evidence_due_by = models.DateTimeField(null=True, blank=True)
    # The Stripe `created` time of the last event applied: an older event delivered late changes nothing.
    last_event_at = models.DateTimeField(null=True, blank=True)
    # Stripe's dispute fee, from the dispute's balance transactions: taken with the funds withdrawn (fee_at,
    # the withdrawal's time) and, where Stripe gives it back with the funds reinstated, returned then.
    fee_cents = models.PositiveIntegerField(default=0)
    fee_at = models.DateTimeField(null=True, blank=True, db_index=True)
    fee_returned_cents = models.PositiveIntegerField(default=0)
    fee_returned_at = models.DateTimeField(null=True, blank=True, db_index=True)

    history = audited_history()

    class Meta:
        db_table = "payments_dispute"
        ordering = ["-opened_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(outcome__in=DisputeOutcome.values), name="dispute_outcome_valid"),
            models.CheckConstraint(condition=models.Q(outcome="open") | models.Q(closed_at__isnull=False),
                                   name="dispute_closed_has_date"),
            models.CheckConstraint(condition=models.Q(fee_cents=0) | models.Q(fee_at__isnull=False),
                                   name="dispute_fee_has_date"),
            models.CheckConstraint(condition=models.Q(fee_returned_cents=0) | models.Q(fee_returned_at__isnull=False),
                                   name="dispute_fee_returned_has_date"),
        ]

    def __str__(self) -> str:
        return f"{self.stripe_dispute_id} ${self.amount_cents / 100:.2f} {self.outcome}"
