"""Staff edits of a booking's notes and attention flag: services with validation and a named history row."""

import datetime as dt

import pytest
from django.utils import timezone

from core.bookings.errors import BookingValidationError
from core.bookings.models import NOTES_MAX_LENGTH, Booking
from core.bookings.services import booking_create, booking_flag, booking_flag_clear, booking_notes_update
from tests.factories import UserFactory


@pytest.fixture
def booking(make_request):
    return booking_create(request=make_request())[0]


def _latest(booking):
    return Booking.history.filter(id=booking.pk).order_by("-history_date", "-history_id").first()


@pytest.mark.django_db
def test_notes_update_saves_the_notes_and_names_the_staff_member(booking):
    staff = UserFactory()
    booking_notes_update(booking=booking, notes="  Side door, buzz 4B  ", actor=staff)
    row = _latest(booking)
    assert (row.notes, row.history_user) == ("Side door, buzz 4B", staff)
    assert Booking.objects.get(pk=booking.pk).notes == "Side door, buzz 4B"


@pytest.mark.django_db
def test_notes_longer_than_the_limit_are_refused_with_the_field(booking):
    with pytest.raises(BookingValidationError) as excinfo:
        booking_notes_update(booking=booking, notes="x" * (NOTES_MAX_LENGTH + 1), actor=UserFactory())
    assert "notes" in excinfo.value.fields
    assert Booking.objects.get(pk=booking.pk).notes == ""


@pytest.mark.django_db
def test_flag_then_clear(booking):
    staff = UserFactory()
    due = timezone.now() + dt.timedelta(days=1)
    booking_flag(booking=booking, reason="  Building needs a COI  ", due=due, actor=staff)
    flagged = Booking.objects.get(pk=booking.pk)
    assert (flagged.needs_attention, flagged.attention_reason, flagged.attention_due) == (
        True, "Building needs a COI", due)
    booking_flag_clear(booking=booking, actor=staff)
    cleared = Booking.objects.get(pk=booking.pk)
    assert (cleared.needs_attention, cleared.attention_reason, cleared.attention_due) == (False, "", None)
    row = _latest(booking)
    assert row.needs_attention is False and row.history_user == staff


@pytest.mark.django_db
def test_a_flag_needs_a_reason(booking):
    with pytest.raises(BookingValidationError) as excinfo:
        booking_flag(booking=booking, reason="  ", actor=UserFactory())
    assert list(excinfo.value.fields) == ["attention_reason"]
    assert not Booking.objects.get(pk=booking.pk).needs_attention
