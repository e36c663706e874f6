"""The one place where errors become the contract's error body (API_CONTRACT.md "Errors")."""

import logging

from django.db import InterfaceError, OperationalError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from core.common.errors import DomainError

# psycopg's connection failures surface as these (a refused connection, a server restarting mid-request).
DatabaseUnavailable = (OperationalError, InterfaceError)

logger = logging.getLogger(__name__)


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _field_path(loc) -> str:
    # ninja locations look like ("body", "payload", "customer", "email"); drop the transport prefix.
    parts = [str(p) for p in loc]
    while parts and parts[0] in {"body", "query", "path", "header", "payload", "data", "form"}:
        parts = parts[1:]
    return ".".join(parts) or "__all__"


def install(api: NinjaAPI) -> None:
    @api.exception_handler(DomainError)
    def domain_error(request, exc: DomainError):
        response = api.create_response(request, error_body(exc.code, exc.message, exc.fields), status=exc.status)
        if getattr(exc, "retry_after", None):
            response["Retry-After"] = str(exc.retry_after)
        return response

    @api.exception_handler(NinjaValidationError)
    def validation_error(request, exc: NinjaValidationError):
        fields: dict[str, list[str]] = {}
        for err in exc.errors:
            fields.setdefault(_field_path(err.get("loc", ())), []).append(err.get("msg", "Invalid value."))
        return api.create_response(
            request, error_body("validation_error", "The request is not valid.", fields), status=422
        )

    @api.exception_handler(Http404)
    def not_found(request, exc):
        return api.create_response(request, error_body("not_found", "Not found."), status=404)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request, exc):
        return api.create_response(request, error_body("not_found", "Not found."), status=404)

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        if exc.status_code == 400 and str(exc.message).startswith("Cannot parse request body"):
            # ninja answers 400 for a body that is not JSON; the contract says validation problems are 422.
            return api.create_response(
                request,
                error_body("validation_error", "The request body is not valid JSON.",
                           {"__body__": ["Send a JSON object."]}),
                status=422,
            )
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 429: "rate_limited"}.get(
            exc.status_code, "error"
        )
        return api.create_response(request, error_body(code, str(exc.message)), status=exc.status_code)

    def database_unavailable(request, exc):
        # The database restarting or unreachable: a clean, retryable answer (the transaction rolled back, so
        # nothing was half-written), not a 500.
        logger.warning("database unavailable", extra={"path": request.path}, exc_info=True)
        response = api.create_response(
            request, error_body("database_unavailable", "The service is briefly unavailable; please retry."),
            status=503)
        response["Retry-After"] = "5"
        return response

    for exc_class in DatabaseUnavailable:
        api.add_exception_handler(exc_class, database_unavailable)

    @api.exception_handler(Exception)
    def unexpected(request, exc):
        logger.exception("unhandled API error", extra={"path": request.path})
        return api.create_response(
            request, error_body("internal_error", "Something went wrong on our side; please retry."), status=500
        )
