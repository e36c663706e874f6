"""Reads of documents that interfaces show (joins decided here)."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet

from core.documents.errors import DocumentNotFound
from core.documents.models import Document, DocumentType, UploadSource


def customer_documents_queryset(booking) -> QuerySet[Document]:
    """What the booking's customer may see: their own uploads and the certificates issued for the booking."""
    return (Document.objects.filter(booking=booking, deleted_at=None)
            .filter(Q(upload_source=UploadSource.CUSTOMER) | Q(document_type=DocumentType.COI))
            .select_related("coi").order_by("-created_at"))


def customer_document(booking, document_id) -> Document:
    try:
        return customer_documents_queryset(booking).get(pk=uuid.UUID(str(document_id)))
    except (Document.DoesNotExist, ValueError) as exc:
        raise DocumentNotFound("No such document.") from exc


def document_status(document: Document) -> str:
    """The COI's validation status for certificates, "received" for everything else."""
    coi = getattr(document, "coi", None) if document.document_type == DocumentType.COI else None
    return coi.status if coi is not None else "received"
