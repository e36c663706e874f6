"""The change policy: what cancelling or rescheduling a sold booking costs. Priced by change_pricing.py."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models

from core.catalog.errors import PolicyInvalid
from core.catalog.models import NON_NEGATIVE
from core.common.models import BaseModel, audited_history


def default_tiers() -> list[dict]:
    return [
        {"min_hours_before": 168, "fee_type": "percent", "fee": "0"},
        {"min_hours_before": 48, "fee_type": "percent", "fee": "50"},
        {"min_hours_before": 0, "fee_type": "percent", "fee": "100"},
    ]


class ChangePolicy(BaseModel):
    """One version of the change policy. A booking records the version it was sold under and is changed by
    that version's rules, so a version is published once and then replaced by a new one, not rewritten."""

    version = models.PositiveIntegerField(unique=True)
    name = models.CharField(max_length=100)
    cancellation_tiers = models.JSONField(
        default=default_tiers,
        help_text='Cancelling at least min_hours_before the pickup costs fee ("percent" of the refundable '
                  'total, or "fixed" dollars). The tier with the most hours that is reached applies.')
    reschedule_free_hours = models.PositiveIntegerField(default=72, help_text="Free changes this far ahead.")
    reschedule_fee = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("75.00"),
                                         validators=NON_NEGATIVE, help_text="Dollars, for later changes.")
    reschedule_cutoff_hours = models.PositiveIntegerField(default=24, help_text="No changes online after this.")
    is_active = models.BooleanField(default=True, help_text="The version new bookings are sold under.")

    history = audited_history()

    class Meta:
        db_table = "catalog_changepolicy"
        ordering = ["-version"]
        verbose_name_plural = "change policies"
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=models.Q(is_active=True),
                                    name="one_active_change_policy"),
            models.CheckConstraint(condition=models.Q(reschedule_fee__gte=0), name="change_policy_fee_non_negative"),
            models.CheckConstraint(condition=models.Q(reschedule_cutoff_hours__lte=models.F("reschedule_free_hours")),
                                   name="change_policy_cutoff_before_free"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"

    def clean(self) -> None:
        try:
            self.info()
        except PolicyInvalid as exc:
            raise DjangoValidationError({"cancellation_tiers": [f"{k}: {' '.join(v)}" for k, v in
                                                                exc.fields.items()]}) from exc

    def info(self):
        from core.catalog.change_pricing import PolicyInfo, parse_tiers

        return PolicyInfo(version=self.version, cancellation_tiers=parse_tiers(self.cancellation_tiers),
                          reschedule_free_hours=self.reschedule_free_hours, reschedule_fee=self.reschedule_fee,
                          reschedule_cutoff_hours=self.reschedule_cutoff_hours)
