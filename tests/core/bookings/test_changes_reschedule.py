"""Rescheduling a paid booking under its change policy: tiers, price up and down, balances, overrides, side effects."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from core.bookings.change_models import ChangeQuote
from core.bookings.changes import booking_cancel_preview, booking_cancel_with_quote, pickup_moment
from core.bookings.errors import (
    BalanceDue,
    BookingValidationError,
    DateUnavailable,
    InvalidTransition,
    OverrideNotAllowed,
    QuoteExpired,
    QuoteMismatch,
    ReasonRequired,
    TooLateToChange,
)
from core.bookings.models import Booking, BookingStatus, PaymentState
from core.bookings.rescheduling import (
    BookingChange,
    ChangeOverride,
    booking_change_preview,
    booking_change_with_quote,
)
from core.catalog.availability import used_slots_on
from core.catalog.models import VanSchedule
from core.logistics.models import LegKind
from core.notifications.models import Notification
from core.payments import services
from core.payments.models import Payment, PaymentAudit, PaymentStatus, Refund, RefundStatus
from tests.core.logistics.conftest import legs_of, task_ids
from tests.factories import UserFactory
from tests.fakes.stripe_payments import pay_through_stripe

pytest_plugins = ["tests.fakes.stripe_fixtures", "tests.fakes.stripe_payments"]
H = dt.timedelta(hours=1)
WEEKEND = Decimal("100.00")  # the catalog's weekend surcharge


def _saturday_after(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(5 - day.weekday()) % 7 or 7)


def _before(booking, delta):
    return pickup_moment(booking).astimezone(dt.UTC) - delta


def _change(day, window="morning"):
    return BookingChange(pickup_date=day, pickup_window=window)


@pytest.fixture
def weekday_booking(stripe_on, make_request):
    from core.bookings.services import booking_create

    booking, _ = booking_create(request=make_request())
    pay_through_stripe(stripe_on, booking)
    return Booking.objects.get(pk=booking.pk)


@pytest.fixture
def staff(db):
    return UserFactory(username="desk", is_staff=True)


@pytest.fixture
def admin(db):
    user = UserFactory(username="boss", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="Admin")[0])
    return user


# --- the policy's tiers ------------------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize(("before", "fee"), [
    (72 * H + H, Decimal("0.00")),
    (72 * H, Decimal("0.00")),  # exactly 72 h: still free
    (72 * H - dt.timedelta(seconds=1), Decimal("75.00")),
    (24 * H, Decimal("75.00")),  # exactly 24 h: the last moment, with the fee
])
def test_reschedule_tiers(weekday_booking, before, fee):
    booking = weekday_booking
    new_day = booking.pickup_date + dt.timedelta(days=7)

    quote = booking_change_preview(booking=booking, change=_change(new_day), now=_before(booking, before))

    assert quote.amount_due == fee and quote.refund_amount == 0
    assert [line["code"] for line in quote.price["lines"]] == (["reschedule_fee"] if fee else [])


@pytest.mark.django_db
def test_inside_24_hours_it_is_too_late(weekday_booking):
    booking = weekday_booking
    with pytest.raises(TooLateToChange) as err:
        booking_change_preview(booking=booking, change=_change(booking.pickup_date + dt.timedelta(days=7)),
                               now=_before(booking, 24 * H - dt.timedelta(seconds=1)))
    assert err.value.code == "too_late_to_change" and err.value.status == 409


@pytest.mark.django_db
@pytest.mark.parametrize(("before", "fee"), [(72 * H, Decimal("0.00")),
                                             (72 * H - dt.timedelta(seconds=1), Decimal("75.00"))])
def test_the_72_hour_boundary_is_real_hours_across_the_spring_dst_switch(weekday_booking, before, fee):
    # Pickup Monday 2027-03-15 08:00 EDT; 72 real hours earlier is Friday 07:00 EST (wall clock says 08:00).
    booking = weekday_booking
    Booking.objects.filter(pk=booking.pk).update(pickup_date=dt.date(2027, 3, 15))
    booking.refresh_from_db()
    now = _before(booking, before)
    assert now == dt.datetime(2027, 3, 12, 12, 0, tzinfo=dt.UTC) - (before - 72 * H)

    quote = booking_change_preview(booking=booking, change=_change(dt.date(2027, 3, 17)), now=now)

    assert quote.amount_due == fee


# --- up and down in price ----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_moving_to_a_weekend_asks_for_the_surcharge_through_a_balance_intent(
        stripe_on, weekday_booking, post_webhook, django_capture_on_commit_callbacks):
    booking = weekday_booking
    old_day, saturday = booking.pickup_date, _saturday_after(booking.pickup_date)
    used_old, used_new = used_slots_on(old_day, now=timezone.now()), used_slots_on(saturday, now=timezone.now())

    quote = booking_change_preview(booking=booking, change=_change(saturday, "afternoon"))
    assert quote.amount_due == WEEKEND and quote.new_total == booking.total_price + WEEKEND
    assert quote.price["new_total"] == str(booking.total_price + WEEKEND)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = booking_change_with_quote(booking=booking, quote_id=quote.pk)

    # then the booking moved (old slot freed, new one held) and owes the difference
    moved = outcome.booking
    assert (moved.pickup_date, moved.pickup_window) == (saturday, "afternoon")
    assert moved.total_price == booking.total_price + WEEKEND and moved.surcharge_total == WEEKEND
    assert moved.payment_status == PaymentState.BALANCE_DUE and moved.status == BookingStatus.PAID
    assert used_slots_on(old_day, now=timezone.now()) == used_old - 1
    assert used_slots_on(saturday, now=timezone.now()) == used_new + 1
    required = outcome.payment_required
    assert required["amount_cents"] == 10000 and required["client_secret"]
    [create] = [c for c in stripe_on.calls("POST", "/v1/payment_intents") if c.params.get("amount") == "10000"]
    balance = Payment.objects.get(stripe_payment_intent_id=required["payment_intent_id"])
    assert create.idempotency_key == f"tt-pi-create-{booking.pk}-{balance.pk}"
    assert balance.change_quote_id == quote.pk and balance.status == PaymentStatus.PENDING
    # the site asks create-intent again: the same balance intent, not "already paid"
    again = services.payment_intent_create(booking=moved)
    assert again["payment_intent_id"] == required["payment_intent_id"]

    # when the customer pays and Stripe's webhook arrives
    stripe_on.succeed(required["payment_intent_id"])
    assert post_webhook(stripe_on.make_event("payment_intent.succeeded", required["payment_intent_id"])
                        ).status_code == 200

    # then the booking is paid again, with no second "paid" transition nor a double-payment flag
    fresh = Booking.objects.get(pk=booking.pk)
    assert fresh.payment_status == PaymentState.PAID and fresh.status == BookingStatus.PAID
    assert fresh.status_changes.filter(to_status="paid").count() == 1
    assert PaymentAudit.objects.filter(action="balance_paid", payment=balance).count() == 1
    # (the balance is checked against what the change owes: paid once, exactly, so nothing to refund)
    assert not PaymentAudit.objects.filter(action="double_payment_flagged").exists() and not fresh.needs_attention
    assert [p.amount_cents for p in Payment.objects.filter(change_quote=quote, status=PaymentStatus.SUCCEEDED)] \
        == [10000]
    assert fresh.stripe_payment_intent_id != required["payment_intent_id"]  # the first payment's stays


@pytest.mark.django_db
def test_moving_off_a_weekend_refunds_the_difference(stripe_on, make_request):
    from core.bookings.services import booking_create

    saturday = _saturday_after(make_request().pickup_date)
    booking, _ = booking_create(request=make_request(pickup_date=saturday))
    payment = pay_through_stripe(stripe_on, booking)
    booking = Booking.objects.get(pk=booking.pk)
    wednesday = saturday + dt.timedelta(days=4)

    quote = booking_change_preview(booking=booking, change=_change(wednesday))
    outcome = booking_change_with_quote(booking=booking, quote_id=quote.pk)

    assert quote.refund_amount == WEEKEND and quote.amount_due == 0 and outcome.payment_required is None
    [refund] = outcome.refunds
    assert refund.amount_cents == 10000 and refund.status == RefundStatus.SUCCEEDED
    [call] = stripe_on.calls("POST", "/v1/refunds")
    assert call.idempotency_key == f"tt-refund-{refund.pk}" and call.params["amount"] == "10000"
    fresh = Booking.objects.get(pk=booking.pk)
    assert fresh.pickup_date == wednesday and fresh.total_price == booking.total_price - WEEKEND
    assert fresh.payment_status == PaymentState.PARTIALLY_REFUNDED
    payment.refresh_from_db()
    assert payment.refunded_cents == 10000


@pytest.mark.django_db
def test_reschedule_down_then_cancel_takes_the_fee_on_the_new_price_and_refunds_on_top_of_earlier_refunds(stripe_on, make_request, finance_admin):
    from core.bookings.services import booking_create

    saturday = _saturday_after(make_request().pickup_date)
    booking, _ = booking_create(request=make_request(pickup_date=saturday))
    payment = pay_through_stripe(stripe_on, booking)
    booking = Booking.objects.get(pk=booking.pk)
    services.refund_issue(payment=payment, amount_cents=2000, reason="goodwill", notes="", actor=finance_admin)
    wednesday = saturday + dt.timedelta(days=4)

    down = booking_change_with_quote(
        booking=booking, quote_id=booking_change_preview(booking=booking, change=_change(wednesday)).pk)
    assert [r.amount_cents for r in down.refunds] == [10000]  # the difference, whatever was refunded before

    booking = Booking.objects.get(pk=booking.pk)
    now = _before(booking, 3 * 24 * H)  # 50 % tier
    quote = booking_cancel_preview(booking=booking, now=now)
    cancelled = booking_cancel_with_quote(booking=booking, quote_id=quote.pk, now=now)

    paid = payment.amount_cents
    fee = (paid - 10000) // 2  # 50 % of the price the booking has now (the goodwill refund does not lower it)
    assert booking.total_price * 100 == paid - 10000
    assert cancelled.refunds[0].amount_cents == paid - fee - 2000 - 10000
    payment.refresh_from_db()
    assert payment.refunded_cents == paid - fee and Refund.objects.count() == 3


@pytest.mark.django_db
def test_the_coi_fee_stays_in_both_totals(stripe_on, make_request):
    from core.bookings.services import booking_create

    booking, _ = booking_create(request=make_request(coi_required=True))
    pay_through_stripe(stripe_on, booking)
    booking = Booking.objects.get(pk=booking.pk)
    assert booking.coi_fee > 0

    quote = booking_change_preview(booking=booking, change=_change(booking.pickup_date + dt.timedelta(days=7)))

    assert quote.new_total == quote.old_total and quote.amount_due == 0 and quote.refund_amount == 0


# --- refusals ----------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_full_day_is_date_unavailable_with_alternatives(weekday_booking):
    target = weekday_booking.pickup_date + dt.timedelta(days=7)
    VanSchedule.objects.create(date=target, capacity_override=0)

    with pytest.raises(DateUnavailable) as err:
        booking_change_preview(booking=weekday_booking, change=_change(target))
    assert err.value.code == "date_unavailable" and err.value.fields["alternatives"]


@pytest.mark.django_db
def test_the_day_filling_up_after_the_preview_refuses_the_change(weekday_booking):
    target = weekday_booking.pickup_date + dt.timedelta(days=7)
    quote = booking_change_preview(booking=weekday_booking, change=_change(target))
    VanSchedule.objects.create(date=target, capacity_override=0)

    with pytest.raises(DateUnavailable):
        booking_change_with_quote(booking=weekday_booking, quote_id=quote.pk)
    assert Booking.objects.get(pk=weekday_booking.pk).pickup_date == weekday_booking.pickup_date


@pytest.mark.django_db
def test_a_new_surcharge_since_the_preview_is_a_mismatch(weekday_booking):
    target = weekday_booking.pickup_date + dt.timedelta(days=7)
    quote = booking_change_preview(booking=weekday_booking, change=_change(target))
    VanSchedule.objects.create(date=target, surcharge_override=Decimal("40.00"))

    with pytest.raises(QuoteMismatch):
        booking_change_with_quote(booking=weekday_booking, quote_id=quote.pk)
    assert Booking.objects.get(pk=weekday_booking.pk).pickup_date == weekday_booking.pickup_date


@pytest.mark.django_db
def test_expired_quote_and_pending_booking(weekday_booking, booking):
    quote = booking_change_preview(booking=weekday_booking,
                                   change=_change(weekday_booking.pickup_date + dt.timedelta(days=7)))
    with pytest.raises(QuoteExpired):
        booking_change_with_quote(booking=weekday_booking, quote_id=quote.pk, now=quote.expires_at)
    with pytest.raises(InvalidTransition):
        booking_change_preview(booking=booking, change=_change(booking.pickup_date + dt.timedelta(days=7)))


@pytest.mark.django_db
def test_an_unpaid_balance_blocks_the_next_change(weekday_booking):
    saturday = _saturday_after(weekday_booking.pickup_date)
    booking_change_with_quote(booking=weekday_booking, quote_id=booking_change_preview(
        booking=weekday_booking, change=_change(saturday)).pk)
    booking = Booking.objects.get(pk=weekday_booking.pk)

    with pytest.raises(BalanceDue) as err:
        booking_change_preview(booking=booking, change=_change(saturday + dt.timedelta(days=7)))
    assert err.value.code == "payment_required" and err.value.status == 409


# --- staff overrides ---------------------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize(("who", "override", "error"), [
    ("customer", ChangeOverride(reason="goodwill", waive_fee=True), OverrideNotAllowed),
    ("staff", ChangeOverride(reason="  ", waive_fee=True), ReasonRequired),
    ("staff", ChangeOverride(reason="goodwill", refund_cents=1), BookingValidationError),  # cancel only
])
def test_reschedule_override_refusals(weekday_booking, staff, who, override, error):
    actor = staff if who == "staff" else None
    with pytest.raises(error) as err:
        booking_change_preview(booking=weekday_booking, change=_change(weekday_booking.pickup_date
                                                                       + dt.timedelta(days=7)),
                               actor=actor, override=override, now=_before(weekday_booking, 48 * H))
    if error is ReasonRequired:
        assert err.value.code == "reason_required" and err.value.status == 422
    if error is OverrideNotAllowed:
        assert err.value.code == "override_not_allowed" and err.value.status == 403


@pytest.mark.django_db
def test_staff_waive_the_late_change_fee_and_it_is_audited(weekday_booking, staff):
    booking = weekday_booking
    now = _before(booking, 48 * H)
    quote = booking_change_preview(booking=booking, change=_change(booking.pickup_date + dt.timedelta(days=7)),
                                   actor=staff, override=ChangeOverride(reason="Storm warning", waive_fee=True),
                                   now=now)
    outcome = booking_change_with_quote(booking=booking, quote_id=quote.pk, actor=staff, now=now)

    assert quote.amount_due == 0 and quote.override["reason"] == "Storm warning" and quote.actor == staff
    assert [line["code"] for line in quote.price["lines"]] == ["reschedule_fee", "fee_waived"]
    assert outcome.payment_required is None and outcome.quote.used_by == staff
    audit = PaymentAudit.objects.get(action="change_override")
    assert audit.user == staff and audit.details["reason"] == "Storm warning" and audit.details["given"] == "75.00"


@pytest.mark.django_db
def test_staff_may_change_inside_the_cutoff_with_an_override(weekday_booking, staff):
    now = _before(weekday_booking, 12 * H)
    quote = booking_change_preview(booking=weekday_booking,
                                   change=_change(weekday_booking.pickup_date + dt.timedelta(days=7)),
                                   actor=staff, override=ChangeOverride(reason="Customer in hospital"), now=now)
    assert quote.amount_due == Decimal("75.00")


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "threshold_delta", "allowed"), [
    ("staff", Decimal("0.00"), True),  # exactly at the threshold: staff may
    ("staff", Decimal("-0.01"), False),  # a cent above it: admins only
    ("admin", Decimal("-0.01"), True),
])
def test_custom_cancel_refund_above_the_threshold_needs_an_admin(weekday_booking, staff, admin, settings, who,
                                                                 threshold_delta, allowed):
    booking = weekday_booking
    now = _before(booking, 3 * 24 * H)  # the policy refunds half
    given = booking.total_price - booking_cancel_preview(booking=booking, now=now).refund_amount
    settings.TOTETAXI = {**settings.TOTETAXI, "CHANGE_OVERRIDE_ADMIN_ABOVE": given + threshold_delta}
    actor = staff if who == "staff" else admin
    everything = ChangeOverride(reason="Family emergency", refund_cents=int(booking.total_price * 100))

    if not allowed:
        with pytest.raises(OverrideNotAllowed) as err:
            booking_cancel_preview(booking=booking, now=now, actor=actor, override=everything)
        assert err.value.code == "override_not_allowed"
        return
    quote = booking_cancel_preview(booking=booking, now=now, actor=actor, override=everything)
    outcome = booking_cancel_with_quote(booking=booking, quote_id=quote.pk, actor=actor, now=now)
    assert [r.amount_cents for r in outcome.refunds] == [int(booking.total_price * 100)]
    assert outcome.booking.status == BookingStatus.CANCELLED and "by staff" in outcome.booking.cancellation_reason
    audit = PaymentAudit.objects.get(action="change_override")
    assert audit.user == actor and audit.details["refund_cents"] == int(booking.total_price * 100)


@pytest.mark.django_db
def test_a_custom_refund_cannot_exceed_what_is_refundable(weekday_booking, admin):
    with pytest.raises(BookingValidationError) as err:
        booking_cancel_preview(booking=weekday_booking, actor=admin, override=ChangeOverride(
            reason="oops", refund_cents=int(weekday_booking.total_price * 100) + 1))
    assert err.value.fields["refund_cents"]


@pytest.mark.django_db
def test_waiving_the_cancellation_fee(weekday_booking, admin):
    now = _before(weekday_booking, 3 * 24 * H)
    quote = booking_cancel_preview(booking=weekday_booking, now=now, actor=admin,
                                   override=ChangeOverride(reason="Our van broke down", waive_fee=True))
    assert quote.refund_amount == weekday_booking.total_price  # the 50 % fee waived: everything back
    assert quote.override["given"] == str(weekday_booking.total_price / 2)
    assert [line["code"] for line in quote.price["lines"]][-1] == "fee_waived"


# --- side effects: Onfleet, the customer ----------------------------------------------------------------------

@pytest.mark.django_db
def test_a_dispatched_booking_moves_its_onfleet_tasks_and_the_customer_is_told(
        onfleet, stripe_on, booking, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # paid: dispatched after commit
        pay_through_stripe(stripe_on, booking)
    pickup_id, dropoff_id = task_ids(booking)
    before = onfleet.tasks[pickup_id]["completeAfter"]
    new_day = booking.pickup_date + dt.timedelta(days=7)

    with django_capture_on_commit_callbacks(execute=True):
        booking_change_with_quote(booking=booking, quote_id=booking_change_preview(
            booking=Booking.objects.get(pk=booking.pk), change=_change(new_day)).pk)

    legs = legs_of(booking)
    assert legs[LegKind.PICKUP].window_start.date() == new_day
    assert onfleet.tasks[pickup_id]["completeAfter"] == before + 7 * 24 * 3600 * 1000
    assert dropoff_id in onfleet.tasks
    message = Notification.objects.filter(booking=booking, subject__contains="rescheduled").get()
    assert f"{new_day:%B %-d, %Y}" in message.body_text and "token" not in message.body_text.lower()


@pytest.mark.django_db
def test_test_mode_balance_works_without_stripe(test_mode, make_request):
    from core.bookings.services import booking_create

    booking, _ = booking_create(request=make_request())
    pi = services.payment_intent_create(booking=booking)["payment_intent_id"]
    services.payment_confirm(booking=booking, payment_intent_id=pi)
    booking = Booking.objects.get(pk=booking.pk)
    saturday = _saturday_after(booking.pickup_date)

    outcome = booking_change_with_quote(
        booking=booking, quote_id=booking_change_preview(booking=booking, change=_change(saturday)).pk)
    required = outcome.payment_required
    assert required["payment_intent_id"].startswith(services.TEST_MODE_PREFIX)
    assert Booking.objects.get(pk=booking.pk).payment_status == PaymentState.BALANCE_DUE

    services.payment_confirm(booking=booking, payment_intent_id=required["payment_intent_id"])

    fresh = Booking.objects.get(pk=booking.pk)
    assert fresh.payment_status == PaymentState.PAID and fresh.status == BookingStatus.PAID


@pytest.mark.django_db
def test_staff_record_the_balance_offline(weekday_booking, staff):
    saturday = _saturday_after(weekday_booking.pickup_date)
    booking_change_with_quote(booking=weekday_booking, quote_id=booking_change_preview(
        booking=weekday_booking, change=_change(saturday)).pk)

    payment = services.payment_record_offline(booking=weekday_booking, amount=WEEKEND, method="cash",
                                              reference="", actor=staff)

    assert payment.change_quote_id == ChangeQuote.objects.get(action="reschedule").pk
    assert Booking.objects.get(pk=weekday_booking.pk).payment_status == PaymentState.PAID


@pytest.mark.django_db
def test_cancelling_with_a_balance_unpaid_cancels_the_balance_intent(stripe_on, weekday_booking):
    saturday = _saturday_after(weekday_booking.pickup_date)
    required = booking_change_with_quote(booking=weekday_booking, quote_id=booking_change_preview(
        booking=weekday_booking, change=_change(saturday)).pk).payment_required
    booking = Booking.objects.get(pk=weekday_booking.pk)

    outcome = booking_cancel_with_quote(booking=booking, quote_id=booking_cancel_preview(booking=booking).pk)

    balance = Payment.objects.get(stripe_payment_intent_id=required["payment_intent_id"])
    assert balance.status == PaymentStatus.CANCELED
    assert stripe_on.calls("POST", f"/v1/payment_intents/{balance.stripe_payment_intent_id}/cancel")
    first = Payment.objects.get(booking=booking, change_quote__isnull=True)
    assert [r.amount_cents for r in outcome.refunds] == [first.amount_cents]  # what was paid, not the balance
    assert outcome.booking.payment_status == PaymentState.REFUNDED


@pytest.mark.django_db
def test_a_cancel_quote_from_before_a_reschedule_is_stale(weekday_booking):
    cancel = booking_cancel_preview(booking=weekday_booking)
    booking_change_with_quote(booking=weekday_booking, quote_id=booking_change_preview(
        booking=weekday_booking, change=_change(weekday_booking.pickup_date + dt.timedelta(days=7))).pk)

    with pytest.raises(QuoteMismatch):
        booking_cancel_with_quote(booking=Booking.objects.get(pk=weekday_booking.pk), quote_id=cancel.pk)


@pytest.mark.django_db
def test_staff_edit_items_and_address_same_day_reprices_and_asks_the_difference(weekday_booking, staff):
    booking = weekday_booking
    new_pickup = {"line1": "10 West 66th Street", "line2": "Apt 4", "city": "New York", "state": "NY",
                  "zip_code": "10023"}
    change = BookingChange(pickup_date=booking.pickup_date, pickup_window=booking.pickup_window,
                           pickup_address=new_pickup, specialty_items=(("peloton", 1),))

    quote = booking_change_preview(booking=booking, change=change, actor=staff)
    outcome = booking_change_with_quote(booking=booking, quote_id=quote.pk, actor=staff)

    moved = Booking.objects.select_related("pickup_address").get(pk=booking.pk)
    assert quote.amount_due == moved.total_price - booking.total_price > 0
    assert moved.pickup_address.line1 == "10 West 66th Street" and moved.pickup_date == booking.pickup_date
    assert [(line.item.code, line.quantity) for line in moved.specialty_lines.all()] == [("peloton", 1)]
    assert outcome.payment_required["amount_cents"] == int(quote.amount_due * 100)
    assert quote.actor == staff and outcome.quote.used_by == staff


@pytest.mark.django_db
def test_notes_written_after_the_preview_survive_the_change(weekday_booking, staff):
    from core.bookings.services import booking_notes_update

    stale = weekday_booking
    quote = booking_change_preview(booking=stale, change=_change(stale.pickup_date + dt.timedelta(days=7)))
    booking_notes_update(booking=Booking.objects.get(pk=stale.pk), notes="Gate code 4412", actor=staff)

    booking_change_with_quote(booking=stale, quote_id=quote.pk)

    assert Booking.objects.get(pk=stale.pk).notes == "Gate code 4412"


@pytest.mark.django_db
def test_a_balance_intent_stripe_would_not_cancel_is_cancelled_by_the_sweep(stripe_on, weekday_booking):
    """Stripe down right after the cancel's commit (or a worker killed there): the cancellation stands, and the
    payments sweep cancels the live balance intent and sends the pending refund once Stripe answers again."""
    saturday = _saturday_after(weekday_booking.pickup_date)
    required = booking_change_with_quote(booking=weekday_booking, quote_id=booking_change_preview(
        booking=weekday_booking, change=_change(saturday)).pk).payment_required
    booking = Booking.objects.get(pk=weekday_booking.pk)
    quote = booking_cancel_preview(booking=booking)

    stripe_on.fail_next(20, status=503)
    outcome = booking_cancel_with_quote(booking=booking, quote_id=quote.pk)
    stripe_on.clear_faults()

    balance = Payment.objects.get(stripe_payment_intent_id=required["payment_intent_id"])
    assert outcome.booking.status == BookingStatus.CANCELLED
    assert balance.status != PaymentStatus.CANCELED  # still live at Stripe: the customer could pay it

    assert services.balance_intents_sweep() == 1
    assert services.refunds_retry_pending(now=timezone.now() + dt.timedelta(minutes=5)) == 1
    assert Payment.objects.get(pk=balance.pk).status == PaymentStatus.CANCELED
    assert Refund.objects.get(payment__booking=booking).status == RefundStatus.SUCCEEDED
    assert services.balance_intents_sweep() == 0  # nothing left: a second run does nothing


@pytest.mark.django_db
@pytest.mark.parametrize("confirmer", ["customer", "staff"])
def test_an_admins_override_quote_is_carried_out_by_an_admin_only(weekday_booking, staff, admin, settings,
                                                                  confirmer):
    """The preview checked who may give the money away; the confirmation checks again, so an admin's quote
    cannot be confirmed through the public API (no actor) nor by staff below the admin threshold."""
    booking = weekday_booking
    now = _before(booking, 3 * 24 * H)
    settings.TOTETAXI = {**settings.TOTETAXI, "CHANGE_OVERRIDE_ADMIN_ABOVE": Decimal("10")}
    cancel = booking_cancel_preview(booking=booking, now=now, actor=admin,
                                    override=ChangeOverride(reason="goodwill", refund_cents=int(
                                        booking.total_price * 100)))
    change = booking_change_preview(booking=booking, change=_change(booking.pickup_date + dt.timedelta(days=7)),
                                    actor=admin, override=ChangeOverride(reason="storm", waive_fee=True),
                                    now=_before(booking, 48 * H))
    actor = staff if confirmer == "staff" else None

    with pytest.raises(OverrideNotAllowed):
        booking_cancel_with_quote(booking=booking, quote_id=cancel.pk, actor=actor, now=now)
    with pytest.raises(OverrideNotAllowed):
        booking_change_with_quote(booking=booking, quote_id=change.pk, actor=actor, now=_before(booking, 48 * H))

    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.PAID
    assert not Refund.objects.filter(payment__booking=booking).exists()
    assert booking_cancel_with_quote(booking=booking, quote_id=cancel.pk, actor=admin, now=now).refund_amount \
        == booking.total_price


@pytest.mark.django_db
def test_staff_add_an_item_the_evening_before_pickup_on_the_same_day(weekday_booking, staff):
    """Inside the catalog's lead time (and the online cutoff, hence the override) a booking that keeps its date
    is not a new booking on it: its items can still change (the lead time still refuses new bookings and moves
    onto that day: check_bookable drops it only for the date the booking already has)."""
    booking = weekday_booking
    evening = _before(booking, 12 * H)
    override = ChangeOverride(reason="Customer called: one more item")
    same_day = BookingChange(pickup_date=booking.pickup_date, pickup_window=booking.pickup_window,
                             specialty_items=(("peloton", 1),))
    quote = booking_change_preview(booking=booking, change=same_day, actor=staff, override=override, now=evening)
    booking_change_with_quote(booking=booking, quote_id=quote.pk, actor=staff, now=evening)
    assert [line.item.code for line in Booking.objects.get(pk=booking.pk).specialty_lines.all()] == ["peloton"]


# --- a COI booking: the COI fee is in both totals, never refunded by a reschedule, kept once by a cancel ----
CHANGE_FEE = Decimal("75.00")  # the default policy's change fee, inside its free hours


def _coi_booking(stripe_on, make_request, day):
    from core.bookings.services import booking_create

    booking, _ = booking_create(request=make_request(coi_required=True, pickup_date=day))
    pay_through_stripe(stripe_on, booking)
    booking = Booking.objects.get(pk=booking.pk)
    assert booking.coi_fee == Decimal("50.00")
    return booking


@pytest.mark.django_db
@pytest.mark.parametrize(("move", "before", "due", "refund"), [
    ("off_weekend", 10 * 24 * H, Decimal("0.00"), WEEKEND),  # the difference, the COI fee stays paid
    ("off_weekend", 50 * H, Decimal("0.00"), WEEKEND - CHANGE_FEE),  # less the late change fee
    ("same_price", 10 * 24 * H, Decimal("0.00"), Decimal("0.00")),  # COI in both totals: nothing either way
    ("onto_weekend", 10 * 24 * H, WEEKEND, Decimal("0.00")),  # the surcharge only, not a second COI fee
], ids=["cheaper-day", "cheaper-day-late", "same-price", "dearer-day"])
def test_a_coi_booking_rescheduled_pays_or_gets_back_the_price_difference_only(
        stripe_on, make_request, move, before, due, refund):
    weekday = make_request().pickup_date
    saturday = _saturday_after(weekday)
    start, to = {"off_weekend": (saturday, saturday + dt.timedelta(days=4)),
                 "same_price": (weekday, weekday + dt.timedelta(days=7)),
                 "onto_weekend": (weekday, saturday)}[move]
    booking = _coi_booking(stripe_on, make_request, start)
    paid = Decimal(Payment.objects.get(booking=booking).amount_cents) / 100
    assert paid == booking.total_price
    now = _before(booking, before)

    quote = booking_change_preview(booking=booking, change=_change(to), now=now)
    outcome = booking_change_with_quote(booking=booking, quote_id=quote.pk, now=now)

    assert (quote.amount_due, quote.refund_amount) == (due, refund)
    assert "coi_fee" not in [line["code"] for line in quote.price["lines"]]
    assert sum(r.amount_cents for r in outcome.refunds) == int(refund * 100)
    moved = Booking.objects.get(pk=booking.pk)
    assert moved.pickup_date == to and moved.coi_required and moved.coi_fee == booking.coi_fee
    assert moved.total_price - booking.total_price == quote.new_total - quote.old_total
    assert quote.new_total - quote.old_total == {"off_weekend": -WEEKEND, "same_price": 0,
                                                 "onto_weekend": WEEKEND}[move]


@pytest.mark.django_db
@pytest.mark.parametrize(("cancel_before", "tier_fee_percent"), [
    (8 * 24 * H, 0),  # 168 hours or more: everything back but the COI fee
    (3 * 24 * H, 50),
    (24 * H, 100),
], ids=["free-tier", "half-tier", "full-fee-tier"])
def test_a_coi_booking_rescheduled_down_then_cancelled_keeps_the_coi_fee_once(
        stripe_on, make_request, cancel_before, tier_fee_percent):
    saturday = _saturday_after(make_request().pickup_date)
    booking = _coi_booking(stripe_on, make_request, saturday)
    payment = Payment.objects.get(booking=booking)
    paid = Decimal(payment.amount_cents) / 100
    down = booking_change_with_quote(booking=booking, quote_id=booking_change_preview(
        booking=booking, change=_change(saturday + dt.timedelta(days=4))).pk)
    assert [r.amount_cents for r in down.refunds] == [10000]

    booking = Booking.objects.get(pk=booking.pk)
    now = _before(booking, cancel_before)
    quote = booking_cancel_preview(booking=booking, now=now)
    cancelled = booking_cancel_with_quote(booking=booking, quote_id=quote.pk, now=now)

    coi = booking.coi_fee
    # the tier's fee is on the price after the change (the weekend surcharge refunded) less the COI fee
    fee = (paid - WEEKEND - coi) * tier_fee_percent / 100
    expected = max(paid - fee - coi - WEEKEND, Decimal(0))
    assert quote.refund_amount == expected
    assert [line["amount"] for line in quote.price["lines"] if line["code"] == "coi_fee"] == [f"-{coi}"]
    assert sum(r.amount_cents for r in cancelled.refunds) == int(expected * 100)
    payment.refresh_from_db()
    # over both changes: the price difference, then the cancel's refund; the COI fee is kept once
    assert Decimal(payment.refunded_cents) / 100 == WEEKEND + expected
    assert Decimal(payment.refunded_cents) / 100 <= paid - coi
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CANCELLED


@pytest.mark.django_db
def test_a_coi_booking_rescheduled_up_and_the_balance_paid_keeps_one_coi_fee_on_cancel(
        stripe_on, make_request, post_webhook):
    booking = _coi_booking(stripe_on, make_request, make_request().pickup_date)
    up = booking_change_with_quote(booking=booking, quote_id=booking_change_preview(
        booking=booking, change=_change(_saturday_after(booking.pickup_date))).pk)
    intent = up.payment_required["payment_intent_id"]
    stripe_on.succeed(intent)
    assert post_webhook(stripe_on.make_event("payment_intent.succeeded", intent)).status_code == 200
    booking = Booking.objects.get(pk=booking.pk)
    assert booking.payment_status == PaymentState.PAID
    paid = Decimal(sum(p.amount_cents for p in Payment.objects.filter(booking=booking,
                                                                       status=PaymentStatus.SUCCEEDED))) / 100
    assert paid == booking.total_price  # the first payment and the balance

    quote = booking_cancel_preview(booking=booking, now=_before(booking, 8 * 24 * H))

    assert quote.refund_amount == paid - booking.coi_fee
