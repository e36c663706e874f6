import pytest
from django.core.exceptions import ValidationError

from core.bookings.models import NOTES_MAX_LENGTH, Booking
from core.bookings.services import booking_create
from core.common.errors import DomainError


@pytest.mark.django_db
def test_notes_longer_than_the_limit_are_refused_by_the_model_and_the_service(make_request):
    # the console's forms validate through the model; the API through the booking service
    booking, _ = booking_create(request=make_request(notes="x" * NOTES_MAX_LENGTH))
    booking.notes = "x" * (NOTES_MAX_LENGTH + 1)
    with pytest.raises(ValidationError) as refused:
        booking.full_clean()
    assert "notes" in refused.value.message_dict
    with pytest.raises(DomainError) as error:
        booking_create(request=make_request(notes="x" * (NOTES_MAX_LENGTH + 1)))
    assert "notes" in error.value.fields
    assert Booking.objects.count() == 1
