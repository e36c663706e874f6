"""Writes for customers and addresses."""

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction

from core.common.audit import bulk_create_audited, set_actor
from core.common.errors import ValidationError
from core.common.services import model_update
from core.common.text import text_problem
from core.customers.models import Address, CustomerProfile
from core.customers.validators import US_STATES, ZIP_REGEX, normalize_phone


@dataclass(frozen=True)
class AddressData:
    line1: str
    city: str
    state: str
    zip_code: str
    line2: str = ""


@dataclass(frozen=True)
class CustomerData:
    name: str
    email: str
    phone: str = ""


def _text_errors(data, names: tuple[str, ...], prefix: str) -> dict[str, list[str]]:
    return {f"{prefix}.{name}": [problem] for name in names if (problem := text_problem(getattr(data, name)))}


def validate_address(data: AddressData, *, prefix: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not data.line1.strip():
        errors[f"{prefix}.line1"] = ["Enter the street address."]
    if not data.city.strip():
        errors[f"{prefix}.city"] = ["Enter the city."]
    if data.state.upper() not in US_STATES:
        errors[f"{prefix}.state"] = ["Enter a two-letter US state code, e.g. NY."]
    if not re.match(ZIP_REGEX, data.zip_code.strip()):
        errors[f"{prefix}.zip_code"] = ["Enter a US ZIP code, e.g. 10021."]
    errors.update(_text_errors(data, ("line1", "line2", "city", "state", "zip_code"), prefix))
    return errors


def validate_customer(data: CustomerData, *, prefix: str = "customer") -> tuple[dict[str, list[str]], str]:
    """Return (errors, phone in E.164)."""
    errors: dict[str, list[str]] = {}
    phone = ""
    if not data.name.strip():
        errors[f"{prefix}.name"] = ["Enter the customer's name."]
    try:
        validate_email(data.email.strip())
    except DjangoValidationError:
        errors[f"{prefix}.email"] = ["Enter a valid email address."]
    if data.phone.strip():
        try:
            phone = normalize_phone(data.phone.strip())
        except DjangoValidationError as exc:
            errors[f"{prefix}.phone"] = [exc.messages[0]]
    errors.update(_text_errors(data, ("name", "email", "phone"), prefix))
    return errors, phone


def addresses_create(*, data: list[AddressData], actor=None) -> list[Address]:
    """Validate and create addresses in one INSERT plus one history INSERT (stamped like a normal save's)."""
    for index, item in enumerate(data):
        if errors := validate_address(item, prefix=f"addresses.{index}"):
            raise ValidationError("The address is not valid.", fields=errors)
    rows = [Address(line1=d.line1.strip(), line2=d.line2.strip(), city=d.city.strip(),
                    state=d.state.strip().upper(), zip_code=d.zip_code.strip()) for d in data]
    return bulk_create_audited(Address, rows, actor=actor)


def customer_upsert_for_booking(*, data: CustomerData, actor=None, booking_id=None) -> CustomerProfile:
    """Reuse the profile for this email (case-insensitive), refreshing name/phone; create it otherwise.

    Run it inside the booking's transaction: a lost race for a new email raises IntegrityError (no savepoint,
    to keep the create path lean) and booking_create retries the whole transaction, which then finds the
    winner's profile. `booking_id` names the booking a new profile came from (FKs are deferred, so it may
    be inserted later in the same transaction).
    """
    errors, phone = validate_customer(data)
    if errors:
        raise ValidationError("The customer's details are not valid.", fields=errors)
    email = data.email.strip()
    profile = CustomerProfile.objects.select_for_update().filter(email__iexact=email).first()
    if profile is None:
        profile = CustomerProfile(name=data.name.strip(), email=email, phone=phone, total_bookings_count=1,
                                  created_from_booking_id=booking_id)
        set_actor(profile, actor)
        profile.save(force_insert=True)
        return profile
    changes = {"total_bookings_count": profile.total_bookings_count + 1}  # safe: the row is locked
    if data.name.strip():
        changes["name"] = data.name.strip()
    if phone:
        changes["phone"] = phone
    model_update(instance=profile, fields=["total_bookings_count", "name", "phone"], data=changes, actor=actor)
    return profile


def customer_merge(*, source: CustomerProfile, target: CustomerProfile, actor) -> CustomerProfile:
    """Move every booking of `source` onto `target` and mark `source` merged (audited through history)."""
    from core.bookings.models import Booking

    if source.pk == target.pk:
        raise ValidationError("Pick two different customers to merge.", code="merge_same_customer")
    with transaction.atomic():
        source = CustomerProfile.objects.select_for_update().get(pk=source.pk)
        target = CustomerProfile.objects.select_for_update().get(pk=target.pk)
        moved = 0
        for booking in Booking.objects.select_for_update().filter(customer=source):
            # the id, not the instance: comparing instances would load each booking's customer
            model_update(instance=booking, fields=["customer_id"], data={"customer_id": target.pk}, actor=actor)
            moved += 1
        notes = f"Merged from {source.name} <{source.email}> ({moved} bookings)."
        model_update(instance=target, fields=["total_bookings_count", "staff_notes"], actor=actor, data={
            "total_bookings_count": target.total_bookings_count + moved,
            "staff_notes": f"{target.staff_notes}\n{notes}".strip()})
        model_update(instance=source, fields=["merged_into_id", "total_bookings_count"], actor=actor,
                     data={"merged_into_id": target.pk, "total_bookings_count": 0})
    return target
