"""Payment errors: each a DomainError with a stable code (the API and the console map them)."""

from core.common.errors import Conflict, DomainError, ErrorCode, NotFound, PermissionDenied, ValidationError


class PaymentNotFound(NotFound):
    """No such payment for this booking."""

    code = ErrorCode.NOT_FOUND


class NotPayable(Conflict):
    """This booking cannot be paid now."""

    code = ErrorCode.NOT_PAYABLE


class AlreadyPaid(Conflict):
    """This booking is already paid."""

    code = ErrorCode.ALREADY_PAID


class PaymentInProgress(Conflict):
    """A payment for this booking is being processed; wait for it to finish."""

    code = ErrorCode.PAYMENT_IN_PROGRESS


class PaymentProviderUnavailable(DomainError):
    """The payment provider did not answer; please retry in a moment."""

    code = ErrorCode.PAYMENT_PROVIDER_UNAVAILABLE


class PaymentProviderError(DomainError):
    """The payment provider refused the request."""

    code = ErrorCode.PAYMENT_PROVIDER_ERROR


class RefundNotAllowed(PermissionDenied):
    """Only an administrator can issue refunds."""

    code = ErrorCode.PERMISSION_DENIED


class NotRefundable(Conflict):
    """This payment cannot be refunded."""

    code = ErrorCode.NOT_REFUNDABLE


class RefundTooLarge(Conflict):
    """The refund is larger than what is left to refund on this payment."""

    code = ErrorCode.REFUND_EXCEEDS_REFUNDABLE


class RefundFailed(Conflict):
    """The payment provider refused the refund."""

    code = ErrorCode.REFUND_FAILED


class PaymentValidationError(ValidationError):
    """The payment request is not valid."""


class InvalidWebhookPayload(DomainError):
    """The Stripe event is signed but is not shaped like a Stripe event."""

    code = ErrorCode.INVALID_WEBHOOK_PAYLOAD


__all__ = [
    "AlreadyPaid",
    "InvalidWebhookPayload",
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
