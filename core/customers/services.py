"""Writes for customers and addresses."""

from dataclasses import dataclass

from django.db import transaction

from core.common.audit import bulk_create_audited, set_actor
from core.common.errors import Conflict, ValidationError
from core.common.services import model_update
from core.common.text import text_problem
from core.customers.addresses import normalize_address
from core.customers.models import Address, CustomerProfile
from core.customers.validators import (
    ADDRESS_CHECKS,
    email_problem,
    name_problem,
    normalize_phone,
    phone_problem,
)


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
    errors = {f"{prefix}.{field}": [problem] for field, check in ADDRESS_CHECKS.items()
            if (problem := check(getattr(data, field)))}
    for name, problems in _text_errors(data, ("line1", "line2", "city", "state", "zip_code"), prefix).items():
        errors.setdefault(name, problems)
    return errors


def validate_customer(data: CustomerData, *, prefix: str = "customer") -> tuple[dict[str, list[str]], str]:
    """Return (errors, phone in E.164)."""
    errors = {f"{prefix}.{field}": [problem]
              for field, check in (("name", name_problem), ("email", email_problem), ("phone", phone_problem))
              if (problem := check(getattr(data, field)))}
    phone = "" if errors.get(f"{prefix}.phone") or not data.phone.strip() else normalize_phone(data.phone.strip())
    for name, problems in _text_errors(data, ("name", "email", "phone"), prefix).items():
        errors.setdefault(name, problems)
    return errors, phone


def addresses_create(*, data: list[AddressData], actor=None) -> list[Address]:
    """Validate and create addresses in one INSERT plus one history INSERT (stamped like a normal save's)."""
    for index, item in enumerate(data):
        if errors := validate_address(item, prefix=f"addresses.{index}"):
            raise ValidationError("The address is not valid.", fields=errors)
    rows = [Address(line1=d.line1.strip(), line2=d.line2.strip(), city=d.city.strip(),
                    state=d.state.strip().upper(), zip_code=d.zip_code.strip(),
                    normalized_address=normalize_address(d.line1, d.zip_code)) for d in data]
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
        # Both rows in one statement, in pk order (customer_anonymise's order too): two opposite merges at the same
        # time queue on the lower row, where source-then-target had each hold one row and wait for the other
        # (a deadlock). The one that waited finds the first's outcome in the rows it locks.
        locked = {p.pk: p for p in CustomerProfile.objects.select_for_update().filter(
            pk__in=[source.pk, target.pk]).order_by("pk")}
        source, target = locked.get(source.pk), locked.get(target.pk)
        if source is None or target is None or source.merged_into_id or target.merged_into_id:
            raise Conflict("One of these customers has just been merged into another (or removed): reload the "
                           "list and merge the profiles that remain.", code="customer_merged")
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


def address_save(*, address: Address, actor=None) -> Address:
    """Save an address edited by staff, keeping the form buildings are matched by in step."""
    address.normalized_address = normalize_address(address.line1, address.zip_code)
    set_actor(address, actor)
    address.save()
    return address
