"""Certificates under concurrency (PostgreSQL): extraction runs for seconds, and staff decide meanwhile."""

import datetime as dt

import pytest
from django.db import transaction

from core.bookings.models import Booking
from core.documents.models import COI, COIStatus
from core.documents.services import coi_extract, coi_mark_expired, coi_waive
from tests.concurrency import in_background, wait_until_another_session_waits_on_a_lock
from tests.core.documents import acord_corpus
from tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
def test_a_waiver_given_while_the_certificate_is_read_stands(postgres_only, coi_booking, certificate_for,
                                                             upload_certificate):
    # given a certificate that fails the building's limits, just uploaded (read once, then put back as an upload
    # leaves it), and the extraction job holding it as it loaded it
    coi = upload_certificate(coi_booking, acord_corpus.render_flattened(certificate_for(coi_booking, "low_limit")))
    assert coi.status == COIStatus.INVALID
    COI.objects.filter(pk=coi.pk).update(status=COIStatus.PENDING, validation_errors=[], extraction={})
    loaded = COI.objects.select_related("document", "booking", "building").get(pk=coi.pk)
    admin = UserFactory(role="admin")

    # when an admin waives it while the job reads the file and writes what it found
    with transaction.atomic():
        COI.objects.select_for_update().get(pk=coi.pk)  # the waiver's transaction, not committed yet
        extracting = in_background(lambda: coi_extract(coi=loaded))
        wait_until_another_session_waits_on_a_lock()
        coi_waive(coi=COI.objects.get(pk=coi.pk), actor=admin, reason="the building agreed by phone")
    extracting.result(timeout=60)

    # then the admin's decision stands (re-validation records the problems, it does not undo the waiver)
    coi.refresh_from_db()
    assert coi.status == COIStatus.WAIVED and coi.validated_by == admin
    assert {p["code"] for p in coi.validation_errors} >= {"general_each_occurrence_too_low"}


@pytest.mark.django_db(transaction=True)
def test_a_waiver_given_while_the_expiry_job_runs_stands(postgres_only, coi_booking, certificate_for,
                                                         upload_certificate):
    # given a valid certificate whose policy now ends before the move (the move was put back since)
    coi = upload_certificate(coi_booking, acord_corpus.render_flattened(
        certificate_for(coi_booking, expiration_date=coi_booking.pickup_date + dt.timedelta(days=3))))
    assert coi.status == COIStatus.VALID
    Booking.objects.filter(pk=coi_booking.pk).update(pickup_date=coi_booking.pickup_date + dt.timedelta(days=5))
    admin = UserFactory(role="admin")

    # when an admin waives it while the daily job, which listed it as still valid, writes its verdict
    with transaction.atomic():
        COI.objects.select_for_update().get(pk=coi.pk)  # the waiver's transaction, not committed yet
        expiring = in_background(coi_mark_expired)
        wait_until_another_session_waits_on_a_lock()
        coi_waive(coi=COI.objects.get(pk=coi.pk), actor=admin, reason="the building accepts the renewal")
    flagged = expiring.result(timeout=60)

    # then the admin's decision stands and the booking is not flagged for it
    coi.refresh_from_db()
    coi_booking.refresh_from_db()
    assert coi.status == COIStatus.WAIVED and coi.validated_by == admin
    assert flagged == [] and not coi_booking.needs_attention
