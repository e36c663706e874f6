"""Payment errors: each a DomainError with a stable code (the API and the console map them)."""

from core.common.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationError


class PaymentNotFound(NotFound):
    """No such payment for this booking."""

    code = "not_found"


class NotPayable(Conflict):
    """This booking cannot be paid now."""

    code = "invalid_transition"


class AlreadyPaid(Conflict):
    """This booking is already paid."""

    code = "already_paid"


class PaymentInProgress(Conflict):
    """A payment for this booking is being processed; wait for it to finish."""

    code = "payment_in_progress"


class PaymentProviderUnavailable(DomainError):
    """The payment provider did not answer; please retry in a moment."""

    code = "payment_provider_unavailable"
    status = 503


class PaymentProviderError(DomainError):
    """The payment provider refused the request."""

    code = "payment_provider_error"
    status = 502


class RefundNotAllowed(PermissionDenied):
    """Only an administrator can issue refunds."""

    code = "permission_denied"


class NotRefundable(Conflict):
    """This payment cannot be refunded."""

    code = "not_refundable"


class RefundTooLarge(Conflict):
    """The refund is larger than what is left to refund on this payment."""

    code = "refund_exceeds_refundable"


class RefundFailed(Conflict):
    """The payment provider refused the refund."""

    code = "refund_failed"


class PaymentValidationError(ValidationError):
    """The payment request is not valid."""


__all__ = [
    "AlreadyPaid",
    "NotPayable",
    "NotRefundable",
    "PaymentInProgress",
    "PaymentNotFound",
    "PaymentProviderError",
    "PaymentProviderUnavailable",
    "PaymentValidationError",
    "RefundFailed",
    "RefundNotAllowed",
    "RefundTooLarge",
]
