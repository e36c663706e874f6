"""Changes flow to Onfleet: edits update open tasks, cancelling deletes them, started ones are left alone."""

import pytest

from core.bookings.changes import booking_cancel_preview, booking_cancel_with_quote
from core.bookings.models import Booking
from core.common.services import model_update
from core.integrations.onfleet import to_ms
from core.logistics.changes import dispatch_sync_booking
from core.logistics.models import LegKind, LegStatus
from tests.core.logistics.conftest import legs_of, task_ids

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.fakes.stripe_fixtures", "tests.fakes.stripe_payments"]  # the refund case pays by card


def test_cancelling_a_dispatched_booking_deletes_its_open_tasks(onfleet, dispatched, staff,
                                                                 django_capture_on_commit_callbacks):
    pickup_id, dropoff_id = task_ids(dispatched)
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel_with_quote(booking=dispatched, actor=staff,
                                  quote_id=booking_cancel_preview(booking=dispatched, actor=staff).pk)

    assert pickup_id in onfleet.deleted and dropoff_id in onfleet.deleted and onfleet.tasks == {}
    assert {leg.status for leg in legs_of(dispatched).values()} == {LegStatus.CANCELLED}


def test_staff_edit_updates_open_tasks_but_not_a_started_one(onfleet, dispatched, staff):
    pickup_id, dropoff_id = task_ids(dispatched)
    onfleet.start_task(pickup_id)
    leg = legs_of(dispatched)[LegKind.PICKUP]
    model_update(instance=leg, fields=["status"], data={"status": LegStatus.IN_PROGRESS})
    booking = Booking.objects.get(pk=dispatched.pk)
    model_update(instance=booking, fields=["pickup_window", "notes"], data={"pickup_window": "afternoon",
                                                                             "notes": "Ring twice"})

    assert dispatch_sync_booking(booking_id=booking.pk, actor=staff) == 1

    dropoff = legs_of(booking)[LegKind.DROPOFF]
    assert onfleet.tasks[dropoff_id]["completeAfter"] == to_ms(dropoff.window_start)
    assert dropoff.window_start.hour == 17  # noon in New York (EST)
    assert "Ring twice" in onfleet.tasks[dropoff_id]["notes"]
    assert "Ring twice" not in onfleet.tasks[pickup_id]["notes"]
    assert dispatch_sync_booking(booking_id=booking.pk, actor=staff) == 0


def test_a_full_refund_deletes_the_open_tasks(onfleet, stripe_on, booking, finance_admin,
                                              django_capture_on_commit_callbacks):
    from core.payments import services as payments

    with django_capture_on_commit_callbacks(execute=True):  # paid through Stripe: dispatched after commit
        pi = payments.payment_intent_create(booking=booking)["payment_intent_id"]
        stripe_on.succeed(pi)
        payments.payment_confirm(booking=booking, payment_intent_id=pi)
    pickup_id, dropoff_id = task_ids(booking)
    assert pickup_id in onfleet.tasks and dropoff_id in onfleet.tasks
    payment = booking.payments.get()

    with django_capture_on_commit_callbacks(execute=True):
        payments.refund_issue(payment=payment, amount_cents=payment.amount_cents, reason="requested_by_customer",
                              notes="", actor=finance_admin)

    assert onfleet.tasks == {} and {pickup_id, dropoff_id} <= onfleet.deleted
    assert {leg.status for leg in legs_of(booking).values()} == {LegStatus.CANCELLED}


def test_staff_editing_the_notes_in_the_console_reaches_the_open_tasks(onfleet, dispatched, staff,
                                                                        django_capture_on_commit_callbacks):
    from core.bookings.services import booking_notes_update

    pickup_id, dropoff_id = task_ids(dispatched)
    with django_capture_on_commit_callbacks(execute=True):
        booking_notes_update(booking=dispatched, notes="Gate code 4242", actor=staff)

    assert "Gate code 4242" in onfleet.tasks[pickup_id]["notes"]
    assert "Gate code 4242" in onfleet.tasks[dropoff_id]["notes"]
    assert legs_of(dispatched)[LegKind.PICKUP].special_instructions == "Gate code 4242"
