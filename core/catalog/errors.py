from core.common.errors import ErrorCode, ValidationError


class PricingError(ValidationError):
    """The booking request cannot be priced."""

    code = ErrorCode.VALIDATION_ERROR
