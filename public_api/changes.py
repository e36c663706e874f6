"""`/bookings/…`: changing a sold booking under its change policy (cancel, reschedule) and access links."""

import datetime as dt
import uuid

from ninja import Field, Header, Router, Status
from pydantic import ConfigDict

from core.bookings.changes import booking_cancel_preview, booking_cancel_with_quote
from core.bookings.changes_access import booking_access_link_request
from core.bookings.rescheduling import BookingChange, booking_change_preview, booking_change_with_quote
from core.bookings.services import booking_get_for_customer
from core.common.audit import client_ip
from core.common.money import from_cents, money_str
from core.common.ratelimit import check_request_rate_limit
from public_api.bookings import TOKEN_HEADER, render_booking
from public_api.schemas import BookingOut, ErrorOut, Schema

router = Router(tags=["changes"])

_ERRORS = {404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 429: ErrorOut}


class ChangeLineOut(Schema):
    kind: str = Field(examples=["fee"], description="paid | fee | refund | price_difference")
    code: str = Field(examples=["cancellation_fee"])
    description: str = Field(examples=["50% cancellation fee (2 days or more before pickup)"])
    amount: str = Field(examples=["-497.50"], description="Signed: what it adds to (or takes from) the total")


class ChangePreviewOut(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "quote_id": "5b0c6a64-4a4e-4a43-9a51-1f1b0c3c2b7e", "expires_at": "2027-03-01T14:15:00-05:00",
        "lines": [{"kind": "paid", "code": "paid", "description": "Paid for this booking", "amount": "995.00"},
                  {"kind": "fee", "code": "cancellation_fee",
                   "description": "50% cancellation fee (2 days or more before pickup)", "amount": "-497.50"}],
        "amount_due": "0.00", "refund_amount": "497.50", "policy_version": 1}]})

    quote_id: str
    expires_at: dt.datetime
    lines: list[ChangeLineOut]
    amount_due: str
    refund_amount: str
    policy_version: int


class ChangeIn(Schema):
    quote_id: uuid.UUID


class RefundOut(Schema):
    amount: str = Field(examples=["497.50"])
    status: str = Field(examples=["succeeded"], description="pending | succeeded | failed")


class CancelOut(BookingOut):
    refund: RefundOut | None = Field(description="The refund the cancellation made (null when none was due)")


class PaymentRequiredOut(Schema):
    payment_intent_id: str = Field(examples=["pi_3PqB2cL0v3balance"])
    client_secret: str = Field(examples=["pi_3PqB2cL0v3balance_secret_abc"])
    amount_cents: int = Field(examples=[12500])


class RescheduleIn(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"pickup_date": "2027-03-12",
                                                               "pickup_window": "afternoon"}]})

    pickup_date: dt.date
    pickup_window: str = Field(description="morning | afternoon | flexible", examples=["afternoon"])


class RescheduleOut(BookingOut):
    refund: RefundOut | None = Field(description="The refund the change made (the new date costs less)")
    payment_required: PaymentRequiredOut | None = Field(
        description="The new date costs more (or a change fee applies): confirm this PaymentIntent with Stripe.js "
                    "(`POST payments/create-intent/` returns it again until it is paid)")


class AccessLinkIn(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"booking_number": "TT-2027-000123", "email": "alex@example.com"}]})

    booking_number: str = Field(max_length=40)
    email: str = Field(max_length=254)


class AcceptedOut(Schema):
    pass


@router.post("access-link/", response={202: AcceptedOut, 422: ErrorOut, 429: ErrorOut},
             summary="Email a link back to a booking")
def access_link(request, payload: AccessLinkIn):
    """Always 202 `{}`: when the booking number and email match, the customer is emailed a manage link
    `{site}/bookings/{booking_id}/?token=<token>`; send `<token>` as `X-Booking-Token` (valid 14 days).
    429 `rate_limited` past a few requests an hour per IP or per booking number."""
    booking_access_link_request(booking_number=payload.booking_number, email=payload.email,
                                client_ip=client_ip(request))
    return Status(202, {})


def _preview_body(quote) -> dict:
    return {**quote.price, "quote_id": str(quote.pk), "expires_at": quote.expires_at}


def _refund_body(refunds) -> dict | None:
    if not refunds:
        return None
    statuses = {r.status for r in refunds}
    return {"amount": money_str(from_cents(sum(r.amount_cents for r in refunds))),
            "status": statuses.pop() if len(statuses) == 1 else "pending"}


_RESCHEDULE_PREVIEW_EXAMPLE = {
    "quote_id": "9f1c2a64-4a4e-4a43-9a51-1f1b0c3c2b7e", "expires_at": "2027-03-01T14:15:00-05:00",
    "lines": [{"kind": "price_difference", "code": "price_difference", "description": "New date's price difference",
               "amount": "50.00"},
              {"kind": "fee", "code": "reschedule_fee", "description": "Change fee (less than 72 hours before pickup)",
               "amount": "75.00"}],
    "amount_due": "125.00", "refund_amount": "0.00", "policy_version": 1, "old_total": "995.00",
    "new_total": "1045.00"}


class ReschedulePreviewOut(ChangePreviewOut):
    model_config = ConfigDict(json_schema_extra={"examples": [_RESCHEDULE_PREVIEW_EXAMPLE]})

    old_total: str = Field(description="The booking's total now")
    new_total: str = Field(description="The booking's total on the new date")


@router.post("{booking_id}/reschedule/preview/", response={200: ReschedulePreviewOut, **_ERRORS},
             summary="What moving the booking would cost or give back (token)")
def reschedule_preview(request, booking_id: str, payload: RescheduleIn, x_booking_token: str | None = TOKEN_HEADER):
    """A paid booking's new date and window, priced under its change policy: free at least 72 hours before the
    pickup, a change fee later, refused inside 24 hours (409 `too_late_to_change`); the new date's price
    difference is charged (`amount_due`) or refunded (`refund_amount`). The date is checked now: 409
    `date_unavailable` / `building_closed` with `fields.alternatives`, `building_lead_time` with
    `fields.earliest_date`; 409 `payment_required` while an earlier change's balance is unpaid; 422
    `validation_error` for a past date or the date and window the booking already has. `POST …/reschedule/`
    with the `quote_id` carries it out until `expires_at`."""
    check_request_rate_limit(request, route="bookings.reschedule_preview")
    booking = booking_get_for_customer(booking_id=booking_id, token=x_booking_token)
    quote = booking_change_preview(booking=booking, change=BookingChange(pickup_date=payload.pickup_date,
                                                                         pickup_window=payload.pickup_window))
    return Status(200, _preview_body(quote))


@router.post("{booking_id}/reschedule/", response={200: RescheduleOut, **_ERRORS},
             summary="Move the booking as previewed (token)")
def reschedule(request, booking_id: str, payload: ChangeIn, x_booking_token: str | None = TOKEN_HEADER,
               idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=255,
                                                    description="Optional; a repeat returns the same change")):
    """Moves the booking to the previewed date, once: the new day's capacity and building rules are re-checked
    under the same lock as booking (409 `date_unavailable` / `building_closed` with alternatives if the last
    slot went meanwhile) and the old slot is freed. Answers the booking plus `refund` (the new date costs less)
    or `payment_required` (it costs more, or a fee applies: confirm that PaymentIntent; the booking's
    `payment_status` is `balance_due` until it is paid). 409 `quote_expired`, `quote_mismatch` (a payment, a
    refund or the new date's price changed since the preview)."""
    check_request_rate_limit(request, route="bookings.reschedule")
    booking = booking_get_for_customer(booking_id=booking_id, token=x_booking_token)
    outcome = booking_change_with_quote(booking=booking, quote_id=payload.quote_id, idempotency_key=idempotency_key)
    fresh = booking_get_for_customer(booking_id=booking_id, token=x_booking_token)
    return Status(200, {**render_booking(fresh), "refund": _refund_body(outcome.refunds),
                        "payment_required": outcome.payment_required})


@router.post("{booking_id}/cancel/preview/", response={200: ChangePreviewOut, **_ERRORS},
             summary="What cancelling would give back (token)")
def cancel_preview(request, booking_id: str, x_booking_token: str | None = TOKEN_HEADER):
    """The change policy's lines (what was paid, the fee for cancelling now, a COI fee kept once the
    certificate is issued, earlier refunds) and the refund; `POST …/cancel/` with the `quote_id` carries it
    out until `expires_at`. 409 `too_late_to_change` once the pickup is too close."""
    check_request_rate_limit(request, route="bookings.cancel_preview")
    booking = booking_get_for_customer(booking_id=booking_id, token=x_booking_token)
    return Status(200, _preview_body(booking_cancel_preview(booking=booking)))


@router.post("{booking_id}/cancel/", response={200: CancelOut, **_ERRORS},
             summary="Cancel as previewed (token)")
def cancel(request, booking_id: str, payload: ChangeIn, x_booking_token: str | None = TOKEN_HEADER,
           idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=255,
                                                description="Optional; a repeat returns the same cancellation")):
    """Cancels the booking, frees its slot and refunds what the quote says, once: repeating the call (or
    racing it) returns the same cancellation and never refunds twice. 409 `quote_expired` after
    `expires_at`, `quote_mismatch` when a payment or refund landed since the preview."""
    check_request_rate_limit(request, route="bookings.cancel")
    booking = booking_get_for_customer(booking_id=booking_id, token=x_booking_token)
    outcome = booking_cancel_with_quote(booking=booking, quote_id=payload.quote_id,
                                        idempotency_key=idempotency_key)
    fresh = booking_get_for_customer(booking_id=booking_id, token=x_booking_token)
    return Status(200, {**render_booking(fresh), "refund": _refund_body(outcome.refunds), "payment_required": None})
