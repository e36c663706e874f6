"""The daily document jobs, with the clock moved by time-machine."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.bookings.models import Booking, BookingStatus
from core.bookings.services import booking_transition
from core.documents.gate import coi_gate_passed
from core.documents.models import COIStatus, Document, UploadSource
from core.documents.services import (
    coi_mark_expired,
    coi_send_reminders,
    document_soft_delete,
    document_upload,
    documents_purge_expired,
)
from core.notifications.models import Notification
from tests.core.documents import acord_corpus
from tests.core.documents.attack_corpus import pdf_bytes
from tests.fakes.documents_fixtures import stored_files


@pytest.fixture
def paid_coi_booking(coi_booking):
    return booking_transition(booking=coi_booking, to_status=BookingStatus.PAID)


def test_a_policy_that_expires_before_the_move_reopens_the_gate_and_flags_staff(
        paid_coi_booking, certificate_for, upload_certificate, time_machine):
    booking = paid_coi_booking
    coi = upload_certificate(booking, acord_corpus.render_flattened(
        certificate_for(booking, expiration_date=booking.pickup_date + dt.timedelta(days=3))))
    assert coi.status == COIStatus.VALID and coi_gate_passed(booking)

    time_machine.move_to(timezone.make_aware(dt.datetime.combine(booking.pickup_date + dt.timedelta(days=4),
                                                                 dt.time(7))))
    # the move date slipped past the policy (e.g. rescheduled by staff): the job catches it
    Booking.objects.filter(pk=booking.pk).update(pickup_date=booking.pickup_date + dt.timedelta(days=5))
    flagged = coi_mark_expired()

    coi.refresh_from_db()
    booking.refresh_from_db()
    assert flagged == [booking.booking_number]
    assert coi.status == COIStatus.EXPIRED and coi.validation_errors[-1]["code"] == "policy_expired"
    assert booking.needs_attention and "insurance" in booking.attention_reason
    assert not coi_gate_passed(booking)
    assert coi_mark_expired() == []  # idempotent


def test_customers_missing_building_requirements_get_one_coi_reminder(paid_coi_booking, time_machine, settings):
    call_command("loaddata", "email_templates", verbosity=0)
    booking = paid_coi_booking
    days = settings.DOCUMENTS["COI_REMINDER_DAYS"]
    time_machine.move_to(timezone.make_aware(dt.datetime.combine(
        booking.pickup_date - dt.timedelta(days=days), dt.time(9))))
    before = Notification.objects.filter(notification_type="coi_reminder").count()

    assert coi_send_reminders() == [booking.booking_number]
    assert coi_send_reminders() == []  # once a day
    assert Notification.objects.filter(notification_type="coi_reminder").count() > before


def test_customers_who_sent_their_requirements_get_no_reminder(paid_coi_booking, time_machine, settings,
                                                               private_storage):
    booking = paid_coi_booking
    document_upload(file=io.BytesIO(pdf_bytes()), filename="rules.pdf", document_type="building_requirements",
                    source=UploadSource.CUSTOMER, booking=booking)
    time_machine.move_to(timezone.make_aware(dt.datetime.combine(
        booking.pickup_date - dt.timedelta(days=settings.DOCUMENTS["COI_REMINDER_DAYS"]), dt.time(9))))
    assert coi_send_reminders() == []


def test_retention_purges_soft_deleted_and_old_files(private_storage, coi_booking, time_machine, settings):
    keep = document_upload(file=io.BytesIO(pdf_bytes(text="keep")), filename="keep.pdf", document_type="other",
                           source=UploadSource.STAFF, booking=coi_booking)[0]
    gone = document_upload(file=io.BytesIO(pdf_bytes(text="gone")), filename="gone.pdf", document_type="other",
                           source=UploadSource.STAFF, booking=coi_booking)[0]
    document_soft_delete(document=gone)
    assert documents_purge_expired() == 0

    time_machine.move_to(timezone.now() + dt.timedelta(days=settings.DOCUMENTS["DELETED_RETENTION_DAYS"] + 1))
    assert documents_purge_expired() == 1
    assert list(Document.objects.values_list("pk", flat=True)) == [keep.pk]
    assert len(stored_files(private_storage)) == 1


def test_dashboard_counts_coi_needed_and_expiring(coi_booking, certificate_for, upload_certificate,
                                                  django_assert_num_queries, time_machine):
    from core.documents.selectors import coi_dashboard

    time_machine.move_to(timezone.make_aware(dt.datetime.combine(coi_booking.pickup_date - dt.timedelta(days=3),
                                                                 dt.time(9))))
    with django_assert_num_queries(2):
        assert coi_dashboard().needed_next_7_days == 1
    upload_certificate(coi_booking, acord_corpus.render_flattened(
        certificate_for(coi_booking, expiration_date=coi_booking.pickup_date + dt.timedelta(days=5))))
    figures = coi_dashboard()
    assert figures.needed_next_7_days == 0 and figures.expiring_14_days == 1


def test_the_daily_snapshot_counts_outstanding_cois(coi_booking):
    from core.reporting.services import daily_metrics_compute

    row = daily_metrics_compute(day=coi_booking.pickup_date - dt.timedelta(days=2))
    assert row.outstanding_coi_count == 1
    assert daily_metrics_compute(day=coi_booking.pickup_date - dt.timedelta(days=30)).outstanding_coi_count == 0


def test_retention_by_age_spares_a_live_bookings_files(private_storage, coi_booking, time_machine, settings):
    settings.DOCUMENTS = {**settings.DOCUMENTS, "RETENTION_DAYS": 10}
    upload = document_upload(file=io.BytesIO(pdf_bytes(text="live")), filename="live.pdf", document_type="other",
                             source=UploadSource.STAFF, booking=coi_booking)[0]
    time_machine.move_to(timezone.now() + dt.timedelta(days=11))
    # a booking still ahead keeps its file, however old
    assert documents_purge_expired() == 0
    # once the booking is finished, its old file goes
    booking_transition(booking=coi_booking, to_status=BookingStatus.CANCELLED, reason="test")
    assert documents_purge_expired() == 1
    assert not Document.objects.filter(pk=upload.pk).exists()
