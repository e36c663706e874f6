"""The booking status machine: the one place that knows which transitions are legal."""

from core.bookings.errors import InvalidTransition
from core.bookings.models import BookingStatus as S

TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.PAID, S.CANCELLED}),
    S.PAID: frozenset({S.SCHEDULED, S.CANCELLED}),
    S.SCHEDULED: frozenset({S.IN_PROGRESS, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
}


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def check_transition(from_status: str, to_status: str) -> None:
    if not can_transition(from_status, to_status):
        raise InvalidTransition(
            f"A {S(from_status).label.lower()} booking cannot become {S(to_status).label.lower()}.",
            fields={"status": [f"{from_status} → {to_status} is not allowed"]},
        )


# cancelled → paid is deliberately absent from TRANSITIONS: nobody may ask for it. The one exception is a payment
# that arrived after its hold expired: core.payments.services.booking_reinstate_after_late_payment makes that move
# (slot re-checked under the service-day lock, with history and a BookingStatusChange).
HOLD_EXPIRED_REASON = "hold_expired"


def can_reinstate(status: str, cancellation_reason: str) -> bool:
    return status == S.CANCELLED and cancellation_reason == HOLD_EXPIRED_REASON
