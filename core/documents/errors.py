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


class DocumentNotFound(NotFound):
    """No such document."""

    code = "not_found"


class BuildingClosed(Conflict):
    """The building does not allow moves on that day."""

    code = "building_closed"


__all__ = ["BuildingClosed", "DocumentNotFound", "DocumentValidationError", "FileTooLarge", "InvalidDocument",
           "UnsupportedFileType"]
