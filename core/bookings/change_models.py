"""A priced change to a sold booking (cancel or reschedule), honoured by the real call until it expires."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from core.catalog.models import NON_NEGATIVE


class ChangeAction(models.TextChoices):
    CANCEL = "cancel", "Cancel"
    RESCHEDULE = "reschedule", "Reschedule"


class ChangeQuote(models.Model):
    """What a change would cost or give back, as previewed; `used_at` once carried out (then replayed)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    booking = models.ForeignKey("core.Booking", on_delete=models.CASCADE, related_name="change_quotes")
    action = models.CharField(max_length=20, choices=ChangeAction.choices)
    policy = models.ForeignKey("core.ChangePolicy", null=True, on_delete=models.PROTECT, related_name="+")
    request = models.JSONField(default=dict, blank=True, help_text="The change asked for (a reschedule's date).")
    # What the price was computed from: if it moved since (a payment or refund landed), the quote is stale.
    basis = models.JSONField(default=dict)
    price = models.JSONField(help_text="The contract's change preview: lines, amount_due, refund_amount.")
    amount_due = models.DecimalField(max_digits=10, decimal_places=2, validators=NON_NEGATIVE)
    refund_amount = models.DecimalField(max_digits=10, decimal_places=2, validators=NON_NEGATIVE)
    # A reschedule: the trip's total before and after (the difference is charged or refunded).
    old_total = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    new_total = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    # Staff overriding the policy: {"reason", "waive_fee", "refund_cents", "policy_refund_cents", ...}; {} if none.
    override = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", help_text="Who previewed the change (none: the customer).")
    used_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", help_text="Who carried it out (none: the customer).")
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    refunds = models.ManyToManyField("core.Refund", blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "bookings_changequote"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(action__in=ChangeAction.values), name="change_quote_action_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.action} quote {self.id}"
