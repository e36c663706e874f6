from core.common.errors import ValidationError


class InvalidContact(ValidationError):
    """The customer's contact details are not valid."""

    code = "validation_error"
