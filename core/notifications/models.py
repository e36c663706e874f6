from django.db import models

from core.common.models import BaseModel, audited_history


class NotificationType(models.TextChoices):
    BOOKING_CONFIRMATION = "booking_confirmation", "Booking confirmation"
    PAYMENT_CONFIRMATION = "payment_confirmation", "Payment confirmation"
    BOOKING_REMINDER = "booking_reminder", "Booking reminder"
    TRACKING_UPDATE = "tracking_update", "Tracking update"
    DELIVERY_CONFIRMATION = "delivery_confirmation", "Delivery confirmation"
    COI_REMINDER = "coi_reminder", "COI reminder"
    CUSTOM = "custom", "Custom message"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    OPENED = "opened", "Opened"
    BOUNCED = "bounced", "Bounced"
    FAILED = "failed", "Failed"
    SUPPRESSED = "suppressed", "Suppressed"
    CANCELLED = "cancelled", "Cancelled"


class EmailTemplate(BaseModel):
    name = models.SlugField(max_length=60, unique=True, help_text="The notification type it renders.")
    subject_template = models.CharField(max_length=255)
    html_template = models.TextField()
    text_template = models.TextField()
    sms_template = models.CharField(max_length=320, blank=True, default="")
    available_variables = models.JSONField(default=dict, blank=True, help_text="name → description")
    from_name = models.CharField(max_length=100, default="ToteTaxi")
    from_email = models.EmailField(default="bookings@totetaxi.com")
    reply_to = models.EmailField(blank=True, default="")
    is_active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)
    test_data = models.JSONField(default=dict, blank=True)

    history = audited_history()

    class Meta:
        db_table = "notifications_emailtemplate"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Notification(BaseModel):
    notification_type = models.CharField(max_length=40, choices=NotificationType.choices, db_index=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    status = models.CharField(max_length=20, choices=NotificationStatus.choices,
                              default=NotificationStatus.PENDING, db_index=True)
    dedupe_key = models.CharField(max_length=200, help_text="One message per event and channel.")
    recipients = models.JSONField(default=list)
    subject = models.CharField(max_length=255, blank=True, default="")
    body_text = models.TextField(blank=True, default="")
    body_html = models.TextField(blank=True, default="")
    template = models.ForeignKey(EmailTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    template_version = models.PositiveIntegerField(null=True, blank=True)
    booking = models.ForeignKey("core.Booking", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="notifications")
    customer = models.ForeignKey("core.CustomerProfile", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="notifications")
    scheduled_for = models.DateTimeField(null=True, blank=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    retry_count = models.PositiveSmallIntegerField(default=0)
    max_retries = models.PositiveSmallIntegerField(default=5)
    next_retry_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_error = models.TextField(blank=True, default="")
    resend_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="resends")

    history = audited_history()

    class Meta:
        db_table = "notifications_notification"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key", "channel"], name="notification_once_per_event_channel"),
            models.CheckConstraint(condition=models.Q(channel__in=Channel.values), name="notification_channel_valid"),
            models.CheckConstraint(condition=models.Q(status__in=NotificationStatus.values),
                                   name="notification_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.notification_type} via {self.channel} ({self.status})"


class DeliveryLog(models.Model):
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="delivery_logs")
    event = models.CharField(max_length=40)
    provider = models.CharField(max_length=20, blank=True, default="")
    provider_event_id = models.CharField(max_length=255, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "notifications_deliverylog"
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_event_id"],
                condition=~models.Q(provider_event_id=""),
                name="deliverylog_provider_event_unique",
            ),
        ]


class Suppression(BaseModel):
    """An address or number we must not message again (bounce, spam complaint, SMS STOP)."""

    channel = models.CharField(max_length=10, choices=Channel.choices)
    address = models.CharField(max_length=254, help_text="Email (lower-case) or E.164 phone.")
    reason = models.CharField(max_length=40)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "notifications_suppression"
        constraints = [models.UniqueConstraint(fields=["channel", "address"], name="suppression_unique")]

    def __str__(self) -> str:
        return f"{self.channel}:{self.address} ({self.reason})"

    @staticmethod
    def normalise(channel: str, address: str) -> str:
        """How an address is stored and looked up: emails lower-cased, both trimmed."""
        return address.strip().lower() if channel == Channel.EMAIL else address.strip()

    def save(self, *args, **kwargs):
        # Every way in (services, the console's form, an import) stores the form is_suppressed() looks up.
        self.address = self.normalise(self.channel, self.address)
        super().save(*args, **kwargs)
