"""Reads of documents that interfaces show (joins decided here)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from core.customers.models import Address
from core.documents.errors import DocumentNotFound
from core.documents.expiry import expiring_q
from core.documents.gate import PASSING
from core.documents.models import COI, Building, COIStatus, COIWaiver, Document, DocumentType, UploadSource


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
    needed_next_7_days: int  # coi_required moves within a week the COI gate still holds (core.documents.gate)
    expiring_14_days: int  # valid certificates of upcoming moves ending before the move or within EXPIRING_DAYS


def coi_gate_closed_q() -> Q:
    """Bookings whose COI gate is closed, as SQL: core.documents.gate.coi_gate_blockers' definition (a test keeps
    the two in step). A building that requires a certificate blocks its role until a valid or waived COI for that
    building, or a waiver for that role; a coi_required booking at no such building, until any passing COI or any
    waiver."""
    passing = COI.objects.filter(status__in=PASSING, document__deleted_at=None)

    def requiring(role: str):
        # The address is looked up inside the subquery (by primary key) rather than joined to the booking: a
        # join let PostgreSQL hash the whole address table for a week's bookings (26 ms at 30k addresses).
        address = Address.objects.filter(pk=OuterRef(OuterRef(f"{role}_address_id"))).values("normalized_address")
        return Building.objects.filter(requires_coi=True, normalized_address=Subquery(address[:1]))

    def blocks(role: str) -> Q:
        unmet = requiring(role).exclude(Exists(passing.filter(booking=OuterRef(OuterRef("pk")),
                                                              building=OuterRef("pk"))))
        return Exists(unmet) & ~Exists(COIWaiver.objects.filter(booking=OuterRef("pk"), building_role=role))

    unknown = (~Exists(requiring("pickup")) & ~Exists(requiring("dropoff"))
               & ~Exists(passing.filter(booking=OuterRef("pk"))) & ~Exists(COIWaiver.objects.filter(
                   booking=OuterRef("pk"))))
    return Q(coi_required=True) & (blocks("pickup") | blocks("dropoff") | unknown)


def coi_needed_q(*, today: dt.date) -> Q:
    """Open coi_required bookings moving in the 7 days from `today` whose COI gate is closed (the dashboard's
    "COIs needed", and the booking list's filter it links to)."""
    return coi_gate_closed_q() & Q(status__in=OPEN_BOOKING_STATUSES, pickup_date__gte=today,
                                   pickup_date__lte=today + dt.timedelta(days=7))


def coi_needed_count(*, today: dt.date) -> int:
    """How many bookings coi_needed_q() finds (one query)."""
    from core.bookings.models import Booking

    return Booking.objects.filter(coi_needed_q(today=today)).count()


def coi_dashboard(*, now: dt.datetime | None = None) -> COIDashboard:
    """The dashboard's COI figures in two queries."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    expiring = (COI.objects.filter(status=COIStatus.VALID, booking__status__in=OPEN_BOOKING_STATUSES,
                                   booking__pickup_date__gte=today, document__deleted_at=None)
                .filter(expiring_q(now=now, prefix="document__") | Q(expiration_date__lt=F("booking__pickup_date")))
                .count())
    return COIDashboard(needed_next_7_days=coi_needed_count(today=today), expiring_14_days=expiring)
