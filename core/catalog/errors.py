from core.common.errors import ValidationError


class PricingError(ValidationError):
    """The booking request cannot be priced."""

    code = "validation_error"


class PolicyInvalid(ValidationError):
    """The change policy is not valid."""
