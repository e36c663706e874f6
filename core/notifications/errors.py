"""Errors of the notifications area."""

from core.common.errors import Conflict, NotFound, ValidationError


class TemplateInvalid(ValidationError):
    """The email template does not render: fix the listed problems."""

    code = "template_invalid"


class UnknownEvent(ValidationError):
    """No notification is defined for this event."""

    code = "unknown_event"


class NoRecipient(Conflict):
    """The customer has no address on this channel."""

    code = "no_recipient"


class NothingToResend(NotFound):
    """This booking has no such notification to resend."""

    code = "nothing_to_resend"
