"""The daily document jobs: expiring certificates, reminders for missing requirements, retention."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core.common.services import model_update
from core.documents.expiry import expired_q
from core.documents.models import COI, COIStatus, Document, DocumentType, UploadSource
from core.documents.selectors import OPEN_BOOKING_STATUSES

logger = logging.getLogger(__name__)


def coi_mark_expired(*, now: dt.datetime | None = None) -> list[str]:
    """Valid certificates whose policy has expired, or ends before the move: expired (the gate re-closes) and
    the booking flagged for staff. Returns the booking numbers flagged; a second run finds nothing."""
    from core.bookings.services import booking_flag

    now = now or timezone.now()
    stale = (COI.objects.filter(status=COIStatus.VALID, booking__status__in=OPEN_BOOKING_STATUSES)
             .filter(expired_q(now=now, prefix="document__") | Q(expiration_date__lt=F("booking__pickup_date")))
             .select_related("booking", "building", "document"))
    flagged = []
    for pk in list(stale.values_list("pk", flat=True)):
        with transaction.atomic():
            # Read again under the row lock, still matching: a waiver, a rejection or a corrected date that staff
            # committed since the list was read stands (an unlocked write would overwrite it with EXPIRED).
            coi = stale.select_for_update(of=("self",)).filter(pk=pk).first()
            if coi is None:
                continue
            lapsed = coi.document.expires_at is not None and coi.document.expires_at <= now
            when = "has expired" if lapsed else "ends before the move"
            problem = {"code": "policy_expired" if lapsed else "policy_expires_before_move",
                       "message": f"The policy {when} ({coi.expiration_date:%B %-d, %Y})."}
            model_update(instance=coi, fields=["status", "validation_errors"],
                         data={"status": COIStatus.EXPIRED, "validation_errors": [*coi.validation_errors, problem]})
            booking_flag(booking=coi.booking, reason=f"Certificate of insurance {when}: get a new one.")
        flagged.append(coi.booking.booking_number)
    return flagged


def coi_send_reminders(*, now: dt.datetime | None = None) -> list[str]:
    """N days before the move, customers whose building requirements are still missing get a coi_reminder
    (once a day at most, so a re-run changes nothing)."""
    from core.bookings.models import Booking
    from core.documents.gate import coi_gate_passed
    from core.notifications.models import Notification
    from core.notifications.services import notification_resend

    now = now or timezone.now()
    today = timezone.localdate(now)
    day = today + dt.timedelta(days=int(settings.DOCUMENTS["COI_REMINDER_DAYS"]))
    sent_today = Notification.objects.filter(notification_type="coi_reminder", created_at__date=today)
    candidates = (Booking.objects.filter(coi_required=True, pickup_date=day, status__in=("paid", "scheduled"))
                  .exclude(documents__document_type=DocumentType.BUILDING_REQUIREMENTS,
                           documents__upload_source=UploadSource.CUSTOMER, documents__deleted_at=None)
                  .exclude(pk__in=sent_today.values("booking_id"))
                  .select_related("customer", "pickup_address", "dropoff_address"))
    reminded = []
    for booking in candidates:
        if coi_gate_passed(booking):
            continue
        notification_resend(booking=booking, notification_type="coi_reminder", actor=None)
        reminded.append(booking.booking_number)
    return reminded


def documents_purge_expired(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Retention: soft-deleted documents after DELETED_RETENTION_DAYS, and documents of finished bookings (or of
    no booking) after RETENTION_DAYS, lose their bytes and their row (history keeps the metadata). A live
    booking's certificate is never purged for its age, nor when its policy ends (`expires_at` is the
    certificate's cover, core.documents.expiry, not a retention date)."""
    from core.bookings.models import BookingStatus
    from core.documents.services.uploads import document_purge

    now = now or timezone.now()
    deleted_before = now - dt.timedelta(days=int(settings.DOCUMENTS["DELETED_RETENTION_DAYS"]))
    old_before = now - dt.timedelta(days=int(settings.DOCUMENTS["RETENTION_DAYS"]))
    finished = Q(booking__isnull=True) | Q(booking__status__in=[BookingStatus.COMPLETED, BookingStatus.CANCELLED])
    due = Document.objects.filter(Q(deleted_at__lt=deleted_before) | (Q(created_at__lt=old_before) & finished)
                                  )[:limit]
    count = 0
    for document in due:
        try:
            document_purge(document=document)
        except Exception:  # one unreadable file must not stop the sweep; the next run retries it
            logger.exception("document purge failed", extra={"document": str(document.pk)})
            continue
        count += 1
    return count
