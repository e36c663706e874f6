import uuid

from django.conf import settings
from django.db import models

from core.common.models import BaseModel, audited_history

MONEY = {"max_digits": 12, "decimal_places": 2, "null": True, "blank": True}


class DocumentType(models.TextChoices):
    COI = "coi", "Certificate of insurance"
    BUILDING_REQUIREMENTS = "building_requirements", "Building requirements"
    PERMIT = "permit", "Permit"
    INVOICE = "invoice", "Invoice"
    RECEIPT = "receipt", "Receipt"
    DAMAGE_REPORT = "damage_report", "Damage report"
    OTHER = "other", "Other"


class UploadSource(models.TextChoices):
    CUSTOMER = "customer", "Customer (booking link)"
    STAFF = "staff", "Staff (console)"
    SYSTEM = "system", "System"


class BuildingRole(models.TextChoices):
    PICKUP = "pickup", "Pickup building"
    DROPOFF = "dropoff", "Drop-off building"


class Building(BaseModel):
    """A building's move rules and what its certificate of insurance must say, matched by normalised address."""

    name = models.CharField(max_length=200)
    line1 = models.CharField(max_length=200)
    city = models.CharField(max_length=100)
    state = models.CharField(max_length=2)
    zip_code = models.CharField(max_length=10)
    normalized_address = models.CharField(max_length=300, unique=True, editable=False)
    requires_coi = models.BooleanField(default=True)
    holder_name = models.CharField(max_length=300, blank=True, default="",
                                   help_text="Certificate holder, worded exactly as the building asks.")
    holder_address = models.CharField(max_length=300, blank=True, default="")
    additional_insureds = models.JSONField(default=list, blank=True,
                                           help_text="Names that must appear as additional insured.")
    min_general_each_occurrence = models.DecimalField(**MONEY)
    min_general_aggregate = models.DecimalField(**MONEY)
    min_auto_combined_single = models.DecimalField(**MONEY)
    min_umbrella = models.DecimalField(**MONEY)
    min_workers_comp = models.DecimalField(**MONEY)
    requires_waiver_of_subrogation = models.BooleanField(default=False)
    max_certificate_age_days = models.PositiveIntegerField(null=True, blank=True)
    lead_time_business_days = models.PositiveSmallIntegerField(default=0)
    contact_email = models.EmailField(blank=True, default="")
    move_weekdays = models.JSONField(default=list, blank=True,
                                     help_text="ISO weekdays moves are allowed (1 = Monday … 7 = Sunday); "
                                               "empty: any day.")
    move_hours_start = models.TimeField(null=True, blank=True)
    move_hours_end = models.TimeField(null=True, blank=True)
    notes = models.TextField(blank=True, default="")

    history = audited_history()

    class Meta:
        db_table = "documents_building"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.line1})"


class Document(BaseModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    document_type = models.CharField(max_length=30, choices=DocumentType.choices, db_index=True)
    category = models.CharField(max_length=50, blank=True, default="")
    booking = models.ForeignKey("core.Booking", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="documents")
    customer = models.ForeignKey("core.CustomerProfile", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="documents")
    building_role = models.CharField(max_length=10, choices=BuildingRole.choices, blank=True, default="")
    original_filename = models.CharField(max_length=255, help_text="Sanitised; shown, never used as a path.")
    storage_key = models.CharField(max_length=255, unique=True, editable=False)
    size = models.PositiveBigIntegerField()
    mime_type = models.CharField(max_length=100, help_text="Detected from the content.")
    sha256 = models.CharField(max_length=64, db_index=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    upload_source = models.CharField(max_length=20, choices=UploadSource.choices)
    tags = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True, default="")
    last_accessed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)

    history = audited_history()

    class Meta:
        db_table = "documents_document"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["booking", "sha256"], condition=models.Q(deleted_at__isnull=True),
                                    name="document_booking_sha256_unique"),
            models.CheckConstraint(condition=models.Q(document_type__in=DocumentType.values),
                                   name="document_type_valid"),
        ]

    def __str__(self) -> str:
        return self.original_filename


class DocumentAccess(models.Model):
    """One download URL handed out: who (staff user or the booking token), when, from where."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="accesses")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    via = models.CharField(max_length=20)  # "token" (customer) or "staff"
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "documents_access"
        ordering = ["-created_at"]


class COIStatus(models.TextChoices):
    PENDING = "pending", "Pending review"
    VALID = "valid", "Valid"
    INVALID = "invalid", "Invalid"
    EXPIRED = "expired", "Expired"
    WAIVED = "waived", "Waived"


class COI(BaseModel):
    """The fields of an ACORD 25 certificate (extracted, then corrected by staff) and its validation."""

    document = models.OneToOneField(Document, on_delete=models.CASCADE, related_name="coi")
    booking = models.ForeignKey("core.Booking", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="cois")
    building = models.ForeignKey(Building, null=True, blank=True, on_delete=models.SET_NULL, related_name="cois")
    insured_name = models.CharField(max_length=300, blank=True, default="")
    insurers = models.JSONField(default=list, blank=True, help_text='[{"name": …, "naic": …}]')
    general_liability_policy = models.CharField(max_length=100, blank=True, default="")
    effective_date = models.DateField(null=True, blank=True)
    expiration_date = models.DateField(null=True, blank=True, db_index=True)
    certificate_date = models.DateField(null=True, blank=True)
    general_each_occurrence = models.DecimalField(**MONEY)
    general_aggregate = models.DecimalField(**MONEY)
    auto_combined_single = models.DecimalField(**MONEY)
    umbrella_each_occurrence = models.DecimalField(**MONEY)
    workers_comp_each_accident = models.DecimalField(**MONEY)
    holder_name = models.CharField(max_length=300, blank=True, default="")
    holder_address = models.CharField(max_length=300, blank=True, default="")
    additional_insured = models.BooleanField(default=False)
    waiver_of_subrogation = models.BooleanField(default=False)
    description_of_operations = models.TextField(blank=True, default="")
    status = models.CharField(max_length=10, choices=COIStatus.choices, default=COIStatus.PENDING, db_index=True)
    validation_errors = models.JSONField(default=list, blank=True,
                                         help_text='[{"code": …, "message": …}] from the last validation.')
    extraction = models.JSONField(default=dict, blank=True,
                                  help_text="Kind, per-field confidence and any reason for manual review.")
    validated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    validated_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True, default="")

    history = audited_history()

    class Meta:
        db_table = "documents_coi"
        ordering = ["-created_at"]
        verbose_name = "COI"
        verbose_name_plural = "COIs"
        constraints = [models.CheckConstraint(condition=models.Q(status__in=COIStatus.values),
                                              name="coi_status_valid")]

    def __str__(self) -> str:
        return f"COI {self.holder_name or self.document.original_filename}"


class COIWaiver(models.Model):
    """An admin let a booking's building go without a valid certificate (the reason is required)."""

    booking = models.ForeignKey("core.Booking", on_delete=models.CASCADE, related_name="coi_waivers")
    building_role = models.CharField(max_length=10, choices=BuildingRole.choices)
    reason = models.TextField()
    waived_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    history = audited_history()

    class Meta:
        db_table = "documents_coi_waiver"
        constraints = [models.UniqueConstraint(fields=["booking", "building_role"], name="coi_waiver_unique")]
