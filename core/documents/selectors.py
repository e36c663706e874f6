"""Reads of documents that interfaces show (joins decided here)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from core.documents.errors import DocumentNotFound
from core.documents.models import COI, COIStatus, COIWaiver, Document, DocumentType, UploadSource


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


OPEN_BOOKING_STATUSES = ("pending", "paid", "scheduled")


@dataclass(frozen=True)
class COIDashboard:
    needed_next_7_days: int  # coi_required moves within a week with no valid/waived certificate nor waiver
    expiring_14_days: int  # valid certificates of open bookings whose policy ends within two weeks


def coi_needed_count(*, today: dt.date) -> int:
    """coi_required moves in the 7 days from `today` with no valid/waived certificate nor waiver (one query).
    A booking counts as covered once any of its buildings is; the gate itself (per building) is
    core.documents.gate.coi_gate_blockers."""
    from core.bookings.models import Booking

    passing = COI.objects.filter(booking=OuterRef("pk"), status__in=(COIStatus.VALID, COIStatus.WAIVED),
                                 document__deleted_at=None)
    return (Booking.objects.filter(coi_required=True, status__in=OPEN_BOOKING_STATUSES, pickup_date__gte=today,
                                   pickup_date__lte=today + dt.timedelta(days=7))
            .exclude(Exists(passing)).exclude(Exists(COIWaiver.objects.filter(booking=OuterRef("pk"))))
            .count())


def coi_dashboard(*, now: dt.datetime | None = None) -> COIDashboard:
    """The dashboard's COI figures in two queries."""
    today = timezone.localdate(now or timezone.now())
    expiring = COI.objects.filter(status=COIStatus.VALID, booking__status__in=OPEN_BOOKING_STATUSES,
                                  expiration_date__gte=today,
                                  expiration_date__lte=today + dt.timedelta(days=14)).count()
    return COIDashboard(needed_next_7_days=coi_needed_count(today=today), expiring_14_days=expiring)
