"""Every row a booking service writes to an audited model (one with simple-history) leaves its history row."""

import datetime as dt

import pytest
from django.apps import apps

from core.bookings.models import Booking, BookingStatus
from core.bookings.requests import booking_request_with_changes
from core.bookings.selectors import booking_specialty_codes
from core.bookings.services import (
    booking_cancel,
    booking_create,
    booking_create_idempotent,
    booking_transition,
    booking_update,
)
from core.customers.services import AddressData
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

AUDITED = [model for model in apps.get_app_config("core").get_models()
           if hasattr(model._meta, "simple_history_manager_attribute")]


def _rows() -> dict:
    return {model: {row["pk"]: row for row in model._default_manager.values("pk", *[
        f.attname for f in model._meta.concrete_fields])} for model in AUDITED}


def _history_since(model, marks: dict) -> list:
    history = getattr(model, model._meta.simple_history_manager_attribute)
    return list(history.filter(history_id__gt=marks[model]).values("id", "history_type", "history_user_id"))


def _assert_audited(before: dict, after: dict, marks: dict, actor) -> set:
    """Every audited row added, changed or deleted between `before` and `after` has a matching history row."""
    written = set()
    for model in AUDITED:
        old, new = before[model], after[model]
        expected = ({(pk, "+") for pk in new.keys() - old.keys()}
                    | {(pk, "-") for pk in old.keys() - new.keys()}
                    | {(pk, "~") for pk in new.keys() & old.keys() if new[pk] != old[pk]})
        recorded = {(h["id"], h["history_type"]) for h in _history_since(model, marks)}
        assert expected <= recorded, f"{model.__name__}: no history for {sorted(expected - recorded)}"
        users = {h["history_user_id"] for h in _history_since(model, marks)}
        assert users <= {actor.pk}, f"{model.__name__}: history names {users}, not the actor"
        if expected:
            written.add(model.__name__)
    return written


def _marks() -> dict:
    marks = {}
    for model in AUDITED:
        history = getattr(model, model._meta.simple_history_manager_attribute)
        marks[model] = max(history.values_list("history_id", flat=True), default=0)
    return marks


def _audited(step, actor) -> set:
    before, marks = _rows(), _marks()
    step()
    return _assert_audited(before, _rows(), marks, actor)


def test_every_audited_row_a_booking_service_writes_has_its_history(make_request, future_weekday):
    actor = UserFactory()
    created = {}

    first = make_request(specialty_items=(("peloton", 1), ("surfboard", 2)))

    def create():
        created["booking"], _ = booking_create(request=first, actor=actor)

    def create_again():  # the same customer again, under a key: the profile is updated, not inserted
        booking_create_idempotent(request=make_request(customer=first.customer), idempotency_key="k-1",
                                  request_hash="h", render=lambda booking, token: {}, actor=actor)

    def update():
        booking = Booking.objects.get(pk=created["booking"].pk)
        booking_update(booking=booking, actor=actor, request=booking_request_with_changes(
            booking, specialty_items=(("surfboard", 3), ("crib", 1)), notes="Ring twice",
            pickup_date=future_weekday + dt.timedelta(days=1),
            dropoff_address=AddressData(line1="1 Main St", city="Sag Harbor", state="NY", zip_code="11963")))

    def pay():
        booking_transition(booking=created["booking"], to_status=BookingStatus.PAID, actor=actor)

    def cancel():
        booking_cancel(booking=created["booking"], actor=actor, reason="changed plans")

    assert _audited(create, actor) == {"Booking", "BookingSpecialtyItem", "CustomerProfile", "Address"}
    assert _audited(create_again, actor) == {"Booking", "CustomerProfile", "Address"}
    # peloton removed, surfboard 2 → 3, crib added, a new dropoff address
    assert _audited(update, actor) == {"Booking", "BookingSpecialtyItem", "Address"}
    assert set(booking_specialty_codes(Booking.objects.get(pk=created["booking"].pk))) == {("crib", 1),
                                                                                            ("surfboard", 3)}
    assert _audited(pay, actor) == {"Booking"}
    assert _audited(cancel, actor) == {"Booking"}
