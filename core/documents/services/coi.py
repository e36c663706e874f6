"""Certificates of insurance: extraction into the COI, validation, and the review desk's decisions."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from core.common.errors import PermissionDenied
from core.common.services import model_update
from core.documents.errors import DocumentValidationError
from core.documents.expiry import policy_expires_at
from core.documents.extraction import FIELDS, extract_acord25
from core.documents.models import COI, COIStatus, COIWaiver, UploadSource
from core.documents.validation import validate_certificate
from core.integrations import storage

# Extracted fields that are COI columns as they are (insurer name/NAIC go into `insurers`).
COLUMNS = [f for f in FIELDS if f not in ("insurer_name", "insurer_naic")]
EDITABLE = [*COLUMNS, "insurers"]
DECIDED = (COIStatus.WAIVED,)  # a staff decision that re-validation must not undo


def _require_admin(actor) -> None:
    if not getattr(actor, "is_admin_role", False):
        raise PermissionDenied("Only an admin can waive a certificate requirement.")


def _require_reason(reason: str) -> str:
    if not (reason or "").strip():
        raise DocumentValidationError("Give a reason.", fields={"reason": ["Required."]})
    return reason.strip()


def coi_extract(*, coi: COI, actor=None, now: dt.datetime | None = None) -> COI:
    """Read the certificate's file into the COI's fields, then validate it (idempotent: re-reads the file)."""
    with storage.open_file(coi.document.storage_key) as handle:
        data = handle.read()
    result = extract_acord25(data, coi.document.mime_type)
    values = {f: result.value(f) for f in COLUMNS if result.value(f) is not None}
    if result.value("insurer_name") or result.value("insurer_naic"):
        values["insurers"] = [{"letter": "A", "name": result.value("insurer_name") or "",
                               "naic": result.value("insurer_naic") or ""}]
    model_update(instance=coi, fields=[*EDITABLE, "extraction"],
                 data={**values, "extraction": result.as_json()}, actor=actor)
    return coi_validate(coi=coi, actor=actor, now=now)


def coi_validate(*, coi: COI, actor=None, now: dt.datetime | None = None) -> COI:
    """Check the COI against its building; valid only when nothing fails and no field awaits a person."""
    now = now or timezone.now()
    booking = coi.booking
    problems = validate_certificate(coi, coi.building, move_date=booking.pickup_date if booking else None,
                                    today=timezone.localdate(now))
    data = {"validation_errors": [p.as_dict() for p in problems]}
    with transaction.atomic():
        # The status as stored, under the row lock: the caller's copy may be seconds old (the extraction job loaded
        # it before reading the file), and a waiver committed since must not be undone by a stale "not decided".
        coi.status = COI.objects.select_for_update().values_list("status", flat=True).get(pk=coi.pk)
        if coi.status not in DECIDED:
            # A certificate the customer sent (often the building's sample) is never accepted without a person.
            needs_person = (coi.extraction.get("needs_review", True) or coi.building_id is None
                            or coi.document.upload_source == UploadSource.CUSTOMER)
            if [p.code for p in problems] == ["fields_missing"]:
                data["status"] = COIStatus.PENDING
            elif problems:
                data["status"] = COIStatus.EXPIRED if any(p.code == "policy_expired" for p in problems) \
                    else COIStatus.INVALID
            else:
                data["status"] = COIStatus.PENDING if needs_person else COIStatus.VALID
            if data["status"] == COIStatus.VALID:
                data.update(validated_at=now, validated_by=None)
        model_update(instance=coi, fields=["validation_errors", "status", "validated_at", "validated_by"],
                     data=data, actor=actor)
        _sync_expiry(coi, actor=actor)
    if coi.status == COIStatus.VALID:
        _dispatch_if_ready(coi.booking_id)  # after the status is saved: dispatch re-reads the gate
    return coi


def _sync_expiry(coi: COI, *, actor) -> None:
    """The certificate's document expires when its policy does (cleared when the date is); every extraction,
    edit and approval validates, so passes here."""
    expires_at = policy_expires_at(coi.expiration_date)
    if coi.document.expires_at != expires_at:
        model_update(instance=coi.document, fields=["expires_at"], data={"expires_at": expires_at}, actor=actor)


def coi_update_fields(*, coi: COI, data: dict, actor) -> COI:
    """Staff correct mis-read fields (audited in the COI's history), then it is validated again."""
    unknown = set(data) - set(EDITABLE)
    if unknown:
        raise DocumentValidationError("These fields cannot be edited.", fields={k: ["Not editable."] for k in unknown})
    extraction = {**coi.extraction, "edited": sorted(set(coi.extraction.get("edited", [])) | set(data)),
                  "needs_review": False}
    with transaction.atomic():
        model_update(instance=coi, fields=[*EDITABLE, "extraction"], data={**data, "extraction": extraction},
                     actor=actor)
        return coi_validate(coi=coi, actor=actor)


def _dispatch_if_ready(booking_id) -> None:
    """The gate may have opened: dispatch after commit (dispatch re-checks every rule; the sweep is the net)."""
    if booking_id is not None:
        from core.logistics.tasks import dispatch_booking

        dispatch_booking(str(booking_id))  # an on_commit task


def coi_approve(*, coi: COI, actor, now: dt.datetime | None = None) -> COI:
    """A person read the certificate and it meets the building's requirements."""
    coi = coi_validate(coi=coi, actor=actor, now=now)
    if coi.validation_errors:
        raise DocumentValidationError(
            "The certificate does not meet the requirements; correct the fields, reject it, or ask an admin "
            "to waive them.", fields={"validation_errors": [p["message"] for p in coi.validation_errors]})
    model_update(instance=coi, fields=["status", "validated_by", "validated_at"],
                 data={"status": COIStatus.VALID, "validated_by": actor, "validated_at": now or timezone.now()},
                 actor=actor)
    _dispatch_if_ready(coi.booking_id)
    return coi


def coi_reject(*, coi: COI, actor, reason: str, now: dt.datetime | None = None) -> COI:
    reason = _require_reason(reason)
    model_update(instance=coi, fields=["status", "validated_by", "validated_at", "notes"],
                 data={"status": COIStatus.INVALID, "validated_by": actor, "validated_at": now or timezone.now(),
                       "notes": f"{coi.notes}\nRejected: {reason}".strip()}, actor=actor)
    return coi


def coi_waive(*, coi: COI, actor, reason: str, now: dt.datetime | None = None) -> COI:
    """Admin only: accept this certificate despite its failures (the reason is kept)."""
    _require_admin(actor)
    reason = _require_reason(reason)
    model_update(instance=coi, fields=["status", "validated_by", "validated_at", "notes"],
                 data={"status": COIStatus.WAIVED, "validated_by": actor, "validated_at": now or timezone.now(),
                       "notes": f"{coi.notes}\nWaived: {reason}".strip()}, actor=actor)
    _dispatch_if_ready(coi.booking_id)
    return coi


def coi_waive_building(*, booking, building_role: str, actor, reason: str) -> COIWaiver:
    """Admin only: let this booking's building go without a valid certificate."""
    _require_admin(actor)
    waiver, _created = COIWaiver.objects.update_or_create(
        booking=booking, building_role=building_role,
        defaults={"reason": _require_reason(reason), "waived_by": actor})
    _dispatch_if_ready(booking.pk)
    return waiver
