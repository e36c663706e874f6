from core.common.errors import DomainError, NotFound


class ReportLinkExpired(DomainError):
    """The emailed download link has expired; open the report in the console for a fresh one."""

    code = "link_expired"


class ReportLinkInvalid(NotFound):
    """The link was tampered with, or its report no longer has a file."""
