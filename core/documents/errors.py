from core.bookings.errors import DateUnavailable
from core.common.errors import Conflict, DomainError, NotFound, ValidationError


class FileTooLarge(DomainError):
    """The file is larger than we accept."""

    code = "file_too_large"
    status = 413


class UnsupportedFileType(DomainError):
    """Send a PDF, JPEG, PNG or HEIC file."""

    code = "unsupported_file_type"
    status = 415


class InvalidDocument(ValidationError):
    """The file is damaged, encrypted or too complex to accept."""

    code = "invalid_document"


class DocumentValidationError(ValidationError):
    """The upload is not valid."""


class COIGateClosed(Conflict):
    """The building's certificate of insurance is not in order yet."""

    code = "coi_required"


class DocumentNotFound(NotFound):
    """No such document."""

    code = "not_found"


class BuildingRefusal(DateUnavailable):
    """A building's move rule refuses the request; carries the rules so alternatives can follow them."""

    def __init__(self, message: str = "", *, rules=None, window: str = "", **kwargs):
        super().__init__(message, **kwargs)
        self.rules = rules
        self.window = window


class BuildingClosed(BuildingRefusal):
    """The building does not allow moves on that day or in that pickup window."""

    code = "building_closed"


class BuildingLeadTime(BuildingRefusal):
    """The building needs more business days' notice before a move."""

    code = "building_lead_time"


__all__ = ["BuildingClosed", "BuildingLeadTime", "BuildingRefusal", "COIGateClosed", "DocumentNotFound", "DocumentValidationError", "FileTooLarge", "InvalidDocument",
           "UnsupportedFileType"]
