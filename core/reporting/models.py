from django.db import models


class DailyMetrics(models.Model):
    """The dashboard's daily snapshot, computed by a periodic job (the seed's Dashboard model)."""

    date = models.DateField(unique=True)
    bookings_created = models.PositiveIntegerField(default=0)
    bookings_by_type = models.JSONField(default=dict)
    paid_bookings = models.PositiveIntegerField(default=0, help_text="Bookings created that day and paid for.")
    revenue = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    refunds = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    pickups = models.PositiveIntegerField(default=0)
    cancellations = models.PositiveIntegerField(default=0)
    outstanding_coi_count = models.PositiveIntegerField(
        default=0, help_text="Moves in the following 7 days still waiting for a certificate of insurance.")
    onfleet_tasks_created = models.PositiveIntegerField(default=0)
    deliveries_completed = models.PositiveIntegerField(default=0, help_text="Drop-offs completed that day.")
    deliveries_failed = models.PositiveIntegerField(default=0, help_text="Drop-offs failed that day.")
    average_delivery_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Pickup started → drop-off completed, for drop-offs completed that day.")
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "reporting_dailymetrics"
        ordering = ["-date"]
        verbose_name_plural = "daily metrics"

    @property
    def delivery_success_rate(self) -> float | None:
        done = self.deliveries_completed + self.deliveries_failed
        return self.deliveries_completed / done if done else None
