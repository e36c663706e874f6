from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower

from core.common.models import BaseModel, audited_history
from core.customers.validators import US_STATES, ZIP_REGEX, validate_e164, validate_us_state


class Address(BaseModel):
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True, default="")
    city = models.CharField(max_length=100)
    state = models.CharField(max_length=2, validators=[validate_us_state])
    zip_code = models.CharField(max_length=10, validators=[RegexValidator(ZIP_REGEX, "Enter a US ZIP code.")])
    # line1 + ZIP as buildings are matched (core.customers.addresses.normalize_address), kept by the address
    # services so the COI figures can join bookings to buildings in SQL.
    normalized_address = models.CharField(max_length=300, blank=True, default="", editable=False, db_index=True)

    history = audited_history()

    class Meta:
        db_table = "customers_address"
        verbose_name_plural = "addresses"
        constraints = [
            models.CheckConstraint(condition=models.Q(state__in=sorted(US_STATES)), name="address_state_valid"),
            models.CheckConstraint(condition=models.Q(zip_code__regex=ZIP_REGEX), name="address_zip_valid"),
            models.CheckConstraint(condition=~models.Q(line1=""), name="address_line1_present"),
        ]

    def __str__(self) -> str:
        line2 = f", {self.line2}" if self.line2 else ""
        return f"{self.line1}{line2}, {self.city}, {self.state} {self.zip_code}"


class CustomerProfile(BaseModel):
    name = models.CharField(max_length=200)
    email = models.EmailField()
    phone = models.CharField(max_length=20, blank=True, default="", validators=[validate_e164])
    total_bookings_count = models.PositiveIntegerField(default=0)
    preferred_addresses = models.ManyToManyField(Address, blank=True, related_name="preferred_by")
    created_from_booking = models.ForeignKey(
        "core.Booking", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    staff_notes = models.TextField(blank=True, default="")
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )

    history = audited_history(m2m_fields=[])

    class Meta:
        db_table = "customers_customerprofile"
        constraints = [
            models.UniqueConstraint(Lower("email"), name="customer_email_ci_unique"),
            models.CheckConstraint(condition=models.Q(phone="") | models.Q(phone__regex=r"^\+[1-9][0-9]{6,14}$"),
                                   name="customer_phone_e164"),
        ]
        indexes = [models.Index(fields=["name"]), models.Index(fields=["phone"])]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"
