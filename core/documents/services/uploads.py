"""Storing uploaded files (checked, deduplicated per booking) and handing out short-lived download URLs."""

from __future__ import annotations

import datetime as dt
import tempfile
from typing import IO

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.common.audit import set_actor
from core.common.services import model_update
from core.documents.errors import DocumentValidationError
from core.documents.inspection import HEIC, JPEG, clean_filename, inspect_upload, open_image
from core.documents.models import (
    COI,
    BuildingRole,
    Document,
    DocumentAccess,
    DocumentType,
    UploadSource,
)
from core.integrations import storage

CUSTOMER_TYPES = (DocumentType.BUILDING_REQUIREMENTS, DocumentType.COI, DocumentType.PERMIT, DocumentType.OTHER)


def _check_choices(document_type: str, building_role: str, *, source: str) -> None:
    allowed = CUSTOMER_TYPES if source == UploadSource.CUSTOMER else DocumentType.values
    errors = {}
    if document_type not in allowed:
        errors["document_type"] = [f"Choose one of: {', '.join(allowed)}."]
    if building_role and building_role not in BuildingRole.values:
        errors["building"] = ["Choose pickup or dropoff."]
    if errors:
        raise DocumentValidationError("The upload is not valid.", fields=errors)


def _heic_as_jpeg(file: IO[bytes]) -> IO[bytes]:
    """Staff browsers cannot show HEIC photos: keep a JPEG (re-encoded, so nothing else rides along)."""
    image = open_image(file, HEIC)
    out = tempfile.TemporaryFile()  # noqa: SIM115 - handed to storage, closed by the caller
    image.convert("RGB").save(out, format="JPEG", quality=90)
    out.seek(0)
    return out


def document_upload(*, file: IO[bytes], filename: str | None, document_type: str, source: str,
                    booking=None, customer=None, building_role: str = "", actor=None,
                    description: str = "") -> tuple[Document, bool]:
    """Check and store one file; returns (document, created). The same bytes on one booking return the first."""
    _check_choices(document_type, building_role, source=source)
    clean_filename(filename)  # refuse path-like / control-character names before reading the content
    inspected = inspect_upload(file)
    if booking is not None:
        existing = Document.objects.filter(booking=booking, sha256=inspected.sha256, deleted_at=None).first()
        if existing is not None:
            return existing, False
    mime, content = inspected.mime_type, file
    if mime == HEIC:
        mime, content = JPEG, _heic_as_jpeg(file)
    key = storage.new_key("documents")
    # Stored before the row is written, outside any transaction: no lock is held while bytes move. A row
    # that fails to insert removes its file again.
    storage.save(key, content, content_type=mime)
    content.seek(0, 2)
    document = Document(
        document_type=document_type, booking=booking, customer=customer or getattr(booking, "customer", None),
        building_role=building_role, original_filename=clean_filename(filename, mime_type=mime),
        storage_key=key, size=content.tell(), mime_type=mime, sha256=inspected.sha256, uploaded_by=actor,
        upload_source=source, description=description,
    )
    try:
        with transaction.atomic():
            set_actor(document, actor)
            document.save(force_insert=True)
            if document_type == DocumentType.COI:
                coi_create_for(document=document, actor=actor)
    except IntegrityError:
        storage.delete(key)
        existing = Document.objects.filter(booking=booking, sha256=inspected.sha256, deleted_at=None).first()
        if existing is None:
            raise
        return existing, False
    return document, True


def coi_create_for(*, document: Document, actor=None) -> COI:
    """A pending COI for an uploaded certificate; its fields are read after commit."""
    from core.documents.tasks import extract_coi

    coi = COI(document=document, booking=document.booking)
    if document.booking_id:
        from core.documents.buildings import booking_buildings

        requiring = {r: b for r, b in booking_buildings(document.booking).items() if b.requires_coi}
        if document.building_role:
            coi.building = requiring.get(document.building_role)
        elif len(requiring) == 1:  # only one building asks for a certificate: it is for that one
            coi.building = next(iter(requiring.values()))
    set_actor(coi, actor)
    coi.save(force_insert=True)
    extract_coi(str(coi.pk))
    return coi


def document_download_url(*, document: Document, actor=None, via: str, ip_address: str | None = None,
                          now: dt.datetime | None = None) -> str:
    """A short-lived URL for the file; the access is recorded (who, how, from where) and last_accessed_at set."""
    now = now or timezone.now()
    url = storage.signed_url(document.storage_key, filename=document.original_filename,
                             content_type=document.mime_type)
    DocumentAccess.objects.create(document=document, actor=actor, via=via, ip_address=ip_address)
    model_update(instance=document, fields=["last_accessed_at"], data={"last_accessed_at": now}, actor=actor)
    return url


def document_soft_delete(*, document: Document, actor=None, now: dt.datetime | None = None) -> bool:
    return model_update(instance=document, fields=["deleted_at"], data={"deleted_at": now or timezone.now()},
                        actor=actor)


def document_purge(*, document: Document) -> None:
    """Remove the bytes and the row (retention); history keeps the metadata."""
    storage.delete(document.storage_key)
    document.delete()
