"""Payments for the marketing site: create (or reuse) the booking's PaymentIntent, confirm after paying."""

import uuid

from ninja import Field, Header, Router, Status

from core.bookings.services import booking_get_for_customer
from core.bookings.services.access import PAY_LINK_ANY_TIME, PAY_LINK_WHILE_OWING
from core.common.ratelimit import check_request_rate_limit
from core.payments.services import payment_confirm, payment_intent_create
from public_api.schemas import ErrorOut, Schema

router = Router(tags=["payments"])


class CreateIntentIn(Schema):
    booking_id: uuid.UUID


class CreateIntentOut(Schema):
    payment_intent_id: str
    client_secret: str = Field(description="For Stripe.js confirmPayment on the site")
    amount_cents: int
    currency: str
    test_mode: bool = Field(description="LOCAL TEST MODE (no Stripe key configured): no real money moves")


class ConfirmIn(Schema):
    booking_id: uuid.UUID
    payment_intent_id: str = Field(max_length=255)


class ConfirmOut(Schema):
    payment_status: str
    booking_status: str


_ERRORS = {400: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 429: ErrorOut, 500: ErrorOut,
           502: ErrorOut, 503: ErrorOut}


@router.post("create-intent/", response={200: CreateIntentOut, **_ERRORS},
             summary="Create or reuse the booking's PaymentIntent (needs X-Booking-Token)")
def create_intent(request, payload: CreateIntentIn,
                  x_booking_token: str | None = Header(None, alias="X-Booking-Token"),
                  idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    """One PaymentIntent per booking and amount; a re-priced booking gets a new one (the old is cancelled)."""
    check_request_rate_limit(request, route="payments.create_intent")
    booking = booking_get_for_customer(booking_id=payload.booking_id, token=x_booking_token,
                                       pay_link=PAY_LINK_WHILE_OWING)
    return Status(200, payment_intent_create(booking=booking, idempotency_key=idempotency_key))


@router.post("confirm/", response={200: ConfirmOut, **_ERRORS},
             summary="After Stripe.js: ask Stripe for the payment's state (needs X-Booking-Token)")
def confirm(request, payload: ConfirmIn, x_booking_token: str | None = Header(None, alias="X-Booking-Token")):
    """The client's word is not trusted: the answer is what Stripe says now."""
    check_request_rate_limit(request, route="payments.confirm")
    booking = booking_get_for_customer(booking_id=payload.booking_id, token=x_booking_token,
                                       pay_link=PAY_LINK_ANY_TIME)
    booking = payment_confirm(booking=booking, payment_intent_id=payload.payment_intent_id)
    return Status(200, {"payment_status": booking.payment_status, "booking_status": booking.status})
