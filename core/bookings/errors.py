from core.common.errors import Conflict, DomainError, ErrorCode, NotFound, ValidationError


class InvalidTransition(Conflict):
    """This booking cannot move to that status."""

    code = ErrorCode.INVALID_TRANSITION


class BookingNotFound(NotFound):
    """No such booking."""

    code = ErrorCode.NOT_FOUND


class DateUnavailable(Conflict):
    """The pickup date cannot be booked."""

    code = ErrorCode.DATE_UNAVAILABLE


class QuoteExpired(Conflict):
    """The quote has expired; request a new preview."""

    code = ErrorCode.QUOTE_EXPIRED


class QuoteMismatch(Conflict):
    """The quote was made for a different booking request."""

    code = ErrorCode.QUOTE_MISMATCH


class QuoteNotFound(NotFound):
    """No such quote."""

    code = ErrorCode.QUOTE_NOT_FOUND


class IdempotencyConflict(Conflict):
    """This Idempotency-Key was used with a different request."""

    code = ErrorCode.IDEMPOTENCY_CONFLICT


class TooLateToChange(Conflict):
    """It is too late to change this booking online; call us."""

    code = ErrorCode.TOO_LATE_TO_CHANGE


class NoChangePolicy(Conflict):
    """No change policy applies to this booking."""

    code = ErrorCode.NO_CHANGE_POLICY


class BalanceDue(Conflict):
    """An earlier change's balance is still unpaid; pay it before changing the booking again."""

    code = ErrorCode.PAYMENT_REQUIRED


class OverrideNotAllowed(DomainError):
    """Only staff may override the change policy (admins alone above the configured amount)."""

    code = ErrorCode.OVERRIDE_NOT_ALLOWED


class ReasonRequired(ValidationError):
    """An override of the change policy needs a reason."""

    code = ErrorCode.REASON_REQUIRED


class BookingValidationError(ValidationError):
    """The booking request is not valid."""


__all__ = [
    "BalanceDue",
    "BookingNotFound",
    "BookingValidationError",
    "DateUnavailable",
    "DomainError",
    "IdempotencyConflict",
    "InvalidTransition",
    "NoChangePolicy",
    "OverrideNotAllowed",
    "QuoteExpired",
    "QuoteMismatch",
    "QuoteNotFound",
    "ReasonRequired",
    "TooLateToChange",
]
