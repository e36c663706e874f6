"""A booking's two delivery legs (one Onfleet task each), Onfleet's events about them, proof, drift."""

from django.conf import settings
from django.db import models

from core.common.models import BaseModel, StoredEvent, audited_history


class LegKind(models.TextChoices):
    PICKUP = "pickup", "Pickup"
    DROPOFF = "dropoff", "Drop-off"


class LegStatus(models.TextChoices):
    CREATED = "created", "Created"
    ASSIGNED = "assigned", "Assigned"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


# Forward-only: an event may move a leg to a higher rank, never back (created ⇄ assigned is decided by
# re-fetching the task from Onfleet, since both directions are real moves).
STATUS_RANK = {
    LegStatus.CREATED: 0, LegStatus.ASSIGNED: 0, LegStatus.IN_PROGRESS: 1,
    LegStatus.COMPLETED: 2, LegStatus.FAILED: 2, LegStatus.CANCELLED: 2,
}
FINAL_STATUSES = frozenset({LegStatus.COMPLETED, LegStatus.FAILED, LegStatus.CANCELLED})


class DeliveryTask(BaseModel):
    """One leg of a booking. `dispatch_pending` is the intent: set in the paying transaction, cleared once the
    Onfleet task exists; the sweep finishes whatever a lost job left pending."""

    booking = models.ForeignKey("core.Booking", on_delete=models.CASCADE, related_name="delivery_tasks")
    kind = models.CharField(max_length=10, choices=LegKind.choices)
    status = models.CharField(max_length=20, choices=LegStatus.choices, default=LegStatus.CREATED, db_index=True)
    onfleet_task_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    onfleet_short_id = models.CharField(max_length=16, blank=True, default="")
    local_only = models.BooleanField(default=False, help_text="Local dispatch mode: no Onfleet task exists.")
    dispatch_pending = models.BooleanField(default=False, db_index=True)
    dispatch_attempts = models.PositiveIntegerField(default=0)
    dispatch_error = models.TextField(blank=True, default="")
    proof_pending = models.BooleanField(default=False, help_text="Completed in Onfleet; its proof is not copied yet.")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    address = models.CharField(max_length=500)
    contact_name = models.CharField(max_length=200)
    contact_phone = models.CharField(max_length=20, blank=True, default="")
    special_instructions = models.TextField(blank=True, default="")
    access_code = models.CharField(max_length=50, blank=True, default="")
    driver_name = models.CharField(max_length=200, blank=True, default="")
    driver_phone = models.CharField(max_length=20, blank=True, default="")
    tracking_url = models.URLField(blank=True, default="")
    eta = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.CharField(max_length=100, blank=True, default="")
    notes = models.TextField(blank=True, default="", help_text="The driver's completion or failure notes.")
    last_event_at = models.DateTimeField(null=True, blank=True,
                                         help_text="Time of the newest event applied (older ones never overwrite).")

    history = audited_history()

    class Meta:
        db_table = "logistics_deliverytask"
        ordering = ["window_start", "booking_id", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["booking", "kind"], name="delivery_task_one_per_leg"),
            models.CheckConstraint(condition=models.Q(kind__in=LegKind.values), name="delivery_task_kind_valid"),
            models.CheckConstraint(condition=models.Q(status__in=LegStatus.values),
                                   name="delivery_task_status_valid"),
            models.CheckConstraint(condition=models.Q(window_end__gte=models.F("window_start")),
                                   name="delivery_task_window_ordered"),
        ]
        indexes = [models.Index(fields=["window_start", "status"], name="delivery_task_window_idx"),
                   # the operational report's legs finished in a range (bench/reports.py: 1M bookings)
                   models.Index(fields=["completed_at"], name="delivery_task_completed_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.onfleet_short_id or self.pk}"


class TrackingUpdate(StoredEvent):
    """One Onfleet webhook delivery (or a local-mode move), stored once: Onfleet has no event id, so the
    key is trigger + task + time."""

    dedupe_key = models.CharField(max_length=120, unique=True)
    delivery_task = models.ForeignKey(DeliveryTask, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="updates")
    onfleet_task_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    trigger_id = models.SmallIntegerField()
    trigger_name = models.CharField(max_length=40)
    event_time = models.DateTimeField()

    class Meta:
        db_table = "logistics_trackingupdate"
        ordering = ["-event_time"]
        indexes = [models.Index(fields=["delivery_task", "-event_time"], name="tracking_update_task_idx")]

    def __str__(self) -> str:
        return f"{self.trigger_name} {self.onfleet_task_id}"


class ProofKind(models.TextChoices):
    PHOTO = "photo", "Photo"
    SIGNATURE = "signature", "Signature"


class ProofOfDelivery(models.Model):
    """A completion photo or signature, copied from Onfleet into our own storage."""

    delivery_task = models.ForeignKey(DeliveryTask, on_delete=models.CASCADE, related_name="proofs")
    kind = models.CharField(max_length=10, choices=ProofKind.choices)
    onfleet_upload_id = models.CharField(max_length=64)
    file = models.FileField(upload_to="proof-of-delivery/%Y/%m/", max_length=300)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    content_type = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "logistics_proofofdelivery"
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["delivery_task", "onfleet_upload_id"],
                                               name="proof_of_delivery_once")]


class DispatchMismatch(models.Model):
    """A difference between Onfleet's tasks and our legs found by the nightly drift check."""

    class Kind(models.TextChoices):
        MISSING = "missing", "Paid but no Onfleet task"
        ORPHANED = "orphaned", "Onfleet task we do not know"
        DELETED = "deleted_in_onfleet", "Deleted in Onfleet"
        BROKEN_DEPENDENCY = "broken_dependency", "Drop-off does not depend on the pickup"
        WINDOW = "window_mismatch", "Different time window"

    run_date = models.DateField(db_index=True)
    kind = models.CharField(max_length=30, choices=Kind.choices)
    key = models.CharField(max_length=100, help_text="The Onfleet task id, or our leg when none exists.")
    delivery_task = models.ForeignKey(DeliveryTask, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    details = models.JSONField(default=dict, blank=True)
    resolved = models.BooleanField(default=False, db_index=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "logistics_dispatchmismatch"
        ordering = ["-run_date", "kind"]
        constraints = [models.UniqueConstraint(fields=["run_date", "kind", "key"], name="dispatch_mismatch_unique")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.key}"
