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


class BuildingClosed(DateUnavailable):
    """The building does not allow moves on that day."""

    code = "building_closed"

    def __init__(self, message: str = "", *, buildings=(), **kwargs):
        super().__init__(message, **kwargs)
        self.buildings = list(buildings)


__all__ = ["BuildingClosed", "COIGateClosed", "DocumentNotFound", "DocumentValidationError", "FileTooLarge", "InvalidDocument",
           "UnsupportedFileType"]
