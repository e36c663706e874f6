"""Errors of the notifications area."""

from core.common.errors import Conflict, ErrorCode, NotFound, ValidationError


class TemplateInvalid(ValidationError):
    """The email template does not render: fix the listed problems."""

    code = ErrorCode.TEMPLATE_INVALID


class UnknownEvent(ValidationError):
    """No notification is defined for this event."""

    code = ErrorCode.UNKNOWN_EVENT


class NoRecipient(Conflict):
    """The customer has no address on this channel."""

    code = ErrorCode.NO_RECIPIENT


class NothingToResend(NotFound):
    """This booking has no such notification to resend."""

    code = ErrorCode.NOTHING_TO_RESEND
