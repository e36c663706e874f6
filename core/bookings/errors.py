from core.common.errors import Conflict, DomainError, NotFound, ValidationError


class InvalidTransition(Conflict):
    """This booking cannot move to that status."""

    code = "invalid_transition"


class BookingNotFound(NotFound):
    """No such booking."""

    code = "not_found"


class DateUnavailable(Conflict):
    """The pickup date cannot be booked."""

    code = "date_unavailable"


class QuoteExpired(Conflict):
    """The quote has expired; request a new preview."""

    code = "quote_expired"


class QuoteMismatch(Conflict):
    """The quote was made for a different booking request."""

    code = "quote_mismatch"


class QuoteNotFound(NotFound):
    """No such quote."""

    code = "quote_not_found"


class IdempotencyConflict(Conflict):
    """This Idempotency-Key was used with a different request."""

    code = "idempotency_conflict"


class TooLateToChange(Conflict):
    """It is too late to change this booking online; call us."""

    code = "too_late_to_change"


class NoChangePolicy(Conflict):
    """No change policy applies to this booking."""

    code = "no_change_policy"


class BookingValidationError(ValidationError):
    """The booking request is not valid."""


__all__ = [
    "BookingNotFound",
    "BookingValidationError",
    "DateUnavailable",
    "DomainError",
    "IdempotencyConflict",
    "InvalidTransition",
    "NoChangePolicy",
    "QuoteExpired",
    "QuoteMismatch",
    "QuoteNotFound",
    "TooLateToChange",
]
