"""The booking change form's editable fields go through the booking services: validated and audited."""

import pytest
from django.urls import reverse

from core.bookings.models import Booking, BookingStatus
from core.bookings.services import booking_flag


def _change(client, booking, **fields):
    """POST the change form as the browser would: its read-only inlines' management data, then the edits."""
    url = reverse("admin:core_booking_change", args=[booking.pk])
    data = {"notes": booking.notes, "attention_reason": booking.attention_reason}
    if booking.needs_attention:
        data["needs_attention"] = "on"
    for inline in client.get(url).context["inline_admin_formsets"]:
        formset = inline.formset
        data |= {f"{formset.prefix}-{name}": value for name, value in formset.management_form.initial.items()}
        data |= {f"{form.prefix}-id": form.instance.pk for form in formset.initial_forms}
    data = {k: v for k, v in (data | fields).items() if v is not False}
    return client.post(url, data, REMOTE_ADDR="198.51.100.7")


def _latest(booking):
    return Booking.history.filter(id=booking.pk).order_by("-history_date", "-history_id").first()


@pytest.mark.django_db
def test_editing_notes_and_flagging_from_the_change_form_is_audited(role_client, make_booking):
    booking = make_booking(BookingStatus.PAID)
    client = role_client("operations")
    response = _change(client, booking, notes="Doorman: Sam", needs_attention="on", attention_reason="Stairs only")
    assert response.status_code == 302
    booking.refresh_from_db()
    assert (booking.notes, booking.needs_attention, booking.attention_reason) == ("Doorman: Sam", True,
                                                                                   "Stairs only")
    row = _latest(booking)
    assert (row.history_user, row.ip_address, row.attention_reason) == (client.user, "198.51.100.7", "Stairs only")


@pytest.mark.django_db
def test_clearing_a_flag_from_the_console(role_client, make_booking):
    booking = booking_flag(booking=make_booking(BookingStatus.PAID), reason="Dispute dp_1", actor=None)
    client = role_client("operations")
    response = _change(client, booking, needs_attention=False)
    assert response.status_code == 302
    booking.refresh_from_db()
    assert (booking.needs_attention, booking.attention_reason) == (False, "")
    row = _latest(booking)
    assert row.needs_attention is False and row.history_user == client.user


@pytest.mark.django_db
def test_a_flag_without_a_reason_is_refused_on_the_form(role_client, make_booking):
    booking = make_booking(BookingStatus.PAID)
    response = _change(role_client("operations"), booking, needs_attention="on", attention_reason=" ")
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["attention_reason"] == ["Say why the booking needs attention."]
    assert not Booking.objects.get(pk=booking.pk).needs_attention


@pytest.mark.django_db
def test_an_unchanged_form_writes_no_history(role_client, make_booking):
    booking = make_booking(BookingStatus.PAID)
    before = Booking.history.filter(id=booking.pk).count()
    assert _change(role_client("operations"), booking).status_code == 302
    assert Booking.history.filter(id=booking.pk).count() == before
