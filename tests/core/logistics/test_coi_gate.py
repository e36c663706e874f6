"""The one dispatchability rule includes the COI gate: a paid booking whose building needs a certificate is
dispatched only once the certificate is in order, and then without anyone pressing a button."""

import pytest

from core.bookings.models import BookingStatus
from core.logistics.legs import dispatch_blockers
from tests.core.documents import acord_corpus
from tests.core.logistics.conftest import assert_two_linked_tasks, legs_of

pytestmark = pytest.mark.django_db


def test_paid_coi_booking_waits_for_its_certificate_then_dispatches(
        onfleet, coi_booking, pay, certificate_for, upload_certificate, settings):
    settings.STRIPE_SECRET_KEY = ""
    # given a paid booking at a building that requires a certificate, with none yet
    booking = pay(coi_booking)
    # then it is not dispatched, and the reason is the certificate
    assert booking.status == BookingStatus.PAID
    assert legs_of(booking) == {}
    assert onfleet.tasks == {}
    assert any("certificate" in reason for reason in dispatch_blockers(booking))
    # when a good certificate is uploaded and validates
    coi = upload_certificate(booking, acord_corpus.render_flattened(certificate_for(booking)))
    assert coi.status == "valid", coi.validation_errors
    # then the booking is dispatched: two linked tasks, scheduled
    assert dispatch_blockers(booking) == []
    assert_two_linked_tasks(onfleet, booking)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.SCHEDULED


def test_an_invalid_certificate_keeps_the_booking_undispatched(
        onfleet, coi_booking, pay, certificate_for, upload_certificate, settings):
    settings.STRIPE_SECRET_KEY = ""
    booking = pay(coi_booking)
    upload_certificate(booking, acord_corpus.render_flattened(certificate_for(booking, "low_limit")))
    assert onfleet.tasks == {}
    assert any("does not meet" in reason for reason in dispatch_blockers(booking))


def test_the_sweep_skips_bookings_still_waiting_for_a_certificate(onfleet, coi_booking, pay, settings,
                                                                  django_assert_max_num_queries):
    import datetime as dt

    from django.utils import timezone

    from core.logistics.dispatch import dispatch_sweep

    settings.STRIPE_SECRET_KEY = ""
    pay(coi_booking)
    # a booking waiting for its certificate is not even loaded by the sweep (it would crowd out lost work)
    with django_assert_max_num_queries(3):
        assert dispatch_sweep(now=timezone.now() + dt.timedelta(minutes=10)) == 0
    assert onfleet.tasks == {}
