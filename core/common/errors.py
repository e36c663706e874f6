"""The one error type of the domain: every interface maps it (API → 4xx JSON, console → messages.error)."""


class DomainError(Exception):
    """A business rule refused the operation; `code` is stable and machine-readable."""

    code = "domain_error"
    status = 400  # the HTTP status the API answers with

    def __init__(self, message: str = "", *, code: str | None = None, fields: dict | None = None, status=None):
        self.message = message or self.__class__.__doc__ or self.code
        if code:
            self.code = code
        if status:
            self.status = status
        self.fields = fields or {}
        super().__init__(self.message)

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "fields": self.fields}


class ValidationError(DomainError):
    """The request is not valid."""

    code = "validation_error"
    status = 422


class NotFound(DomainError):
    """No such thing."""

    code = "not_found"
    status = 404


class Conflict(DomainError):
    """The current state does not allow this."""

    code = "conflict"
    status = 409


class PermissionDenied(DomainError):
    """You may not do this."""

    code = "permission_denied"
    status = 403
