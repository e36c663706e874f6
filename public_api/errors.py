"""The one place where errors become the contract's error body (API_CONTRACT.md "Errors").

Ninja's routes answer through the exception handlers in `install`; whatever Django answers outside them under
`/api/v1/` (an unknown path, a method a route does not take, a plain webhook view's oversized body) is put into
the same envelope by `ApiErrorEnvelopeMiddleware`.
"""

import json
import logging

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.utils import timezone
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from core.common.errors import DomainError, ErrorCode
from public_api.messages import field_errors

# psycopg's connection failures surface as these (a refused connection, a server restarting mid-request).
DatabaseUnavailable = (OperationalError, InterfaceError)

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1/"

_GENERIC_MESSAGES = {
    ErrorCode.NOT_FOUND: "Not found.",
    ErrorCode.METHOD_NOT_ALLOWED: "This path does not accept {method}.",
    ErrorCode.PAYLOAD_TOO_LARGE: "The request body is too large.",
    ErrorCode.BAD_REQUEST: "The request cannot be read.",
    ErrorCode.INTERNAL_ERROR: "Something went wrong on our side; please retry.",
}


def error_body(code: ErrorCode, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": str(code), "message": message, "fields": fields or {}}}


# The routes whose body is a booking request: pricing's own checks (package, item count, specialty lines) need
# the catalog, so they run in core after the schema; when the schema already refused other fields, they are
# run here too, so one 422 lists every field's problem.
PRICED_BODIES = {("POST", "/api/v1/bookings/"), ("POST", "/api/v1/bookings/preview/"),
                 ("POST", "/api/v1/services/calculate-price/")}


def pricing_field_errors(request) -> dict[str, list[str]]:
    """What core's pricing would also refuse in this booking request body ({} when it has nothing to add)."""
    from core.catalog.errors import PricingError
    from core.catalog.pricing import PriceRequest, calculate_price
    from core.catalog.selectors import catalog_snapshot

    if (request.method, request.path) not in PRICED_BODIES:
        return {}
    try:
        body = json.loads(request.body)
        today = timezone.localdate()  # the structure is checked, not the price: any date will do
        price_request = PriceRequest(
            booking_type=str(body["booking_type"]), pickup_date=today,
            package=str(body.get("package")) if body["booking_type"] == "mini_move" else None,
            item_count=int(body.get("item_count") or 0),
            specialty_items=tuple((str(line["code"]), int(line["quantity"]))
                                  for line in body.get("specialty_items") or ()),
            coi_required=bool(body.get("coi_required")))
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
        return {}  # the parts pricing needs are malformed themselves: the schema's messages say so
    try:
        calculate_price(price_request, catalog_snapshot(today))
    except PricingError as exc:
        return exc.fields
    return {}


def generic_error_body(request, status: int) -> dict:
    """The envelope for a status that came without a code of its own (a framework's 404, 405, 413, 500)."""
    code = ErrorCode.for_status(status)
    message = _GENERIC_MESSAGES.get(code, code.meaning).format(method=request.method)
    return error_body(code, message)


def payload_too_large(request) -> JsonResponse:
    # Django raises RequestDataTooBig when the body is read past DATA_UPLOAD_MAX_MEMORY_SIZE; file uploads are
    # streamed to disk and never count against it, so this only ever refuses oversized JSON or form data.
    return JsonResponse(generic_error_body(request, 413), status=413)


def install(api: NinjaAPI) -> None:
    @api.exception_handler(DomainError)
    def domain_error(request, exc: DomainError):
        response = api.create_response(request, error_body(exc.code, exc.message, exc.fields), status=exc.status)
        if getattr(exc, "retry_after", None):
            response["Retry-After"] = str(exc.retry_after)
        return response

    @api.exception_handler(NinjaValidationError)
    def validation_error(request, exc: NinjaValidationError):
        fields = field_errors(exc.errors)
        for name, problems in pricing_field_errors(request).items():
            fields.setdefault(name, problems)
        return api.create_response(
            request, error_body(ErrorCode.VALIDATION_ERROR, "The request is not valid.", fields), status=422)

    @api.exception_handler(Http404)
    def not_found(request, exc):
        return api.create_response(request, generic_error_body(request, 404), status=404)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request, exc):
        return api.create_response(request, generic_error_body(request, 404), status=404)

    @api.exception_handler(RequestDataTooBig)
    def too_large(request, exc):
        return payload_too_large(request)

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        if exc.status_code == 400 and str(exc.message).startswith("Cannot parse request body"):
            # ninja answers 400 for a body that is not JSON; the contract says validation problems are 422.
            return api.create_response(
                request,
                error_body(ErrorCode.VALIDATION_ERROR, "The request body is not valid JSON.",
                           {"__body__": ["Send a JSON object."]}),
                status=422,
            )
        code = ErrorCode.for_status(exc.status_code)
        return api.create_response(request, error_body(code, str(exc.message)), status=exc.status_code)

    def database_unavailable(request, exc):
        # The database restarting or unreachable: a clean, retryable answer (the transaction rolled back, so
        # nothing was half-written), not a 500.
        logger.warning("database unavailable", extra={"path": request.path}, exc_info=True)
        response = api.create_response(
            request, error_body(ErrorCode.DATABASE_UNAVAILABLE, "The service is briefly unavailable; please retry."),
            status=503)
        response["Retry-After"] = "5"
        return response

    for exc_class in DatabaseUnavailable:
        api.add_exception_handler(exc_class, database_unavailable)

    @api.exception_handler(Exception)
    def unexpected(request, exc):
        logger.exception("unhandled API error", extra={"path": request.path})
        return api.create_response(request, generic_error_body(request, 500), status=500)


class ApiErrorEnvelopeMiddleware:
    """Under /api/v1/, no error leaves in Django's HTML or plain text: it gets the contract's envelope.

    Sits inside CorsMiddleware so the replaced responses still carry the CORS headers the site needs to read them.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (response.status_code >= 400 and request.path.startswith(API_PREFIX)
                and not response.get("Content-Type", "").startswith("application/json")):
            replaced = JsonResponse(generic_error_body(request, response.status_code), status=response.status_code)
            for header in ("Allow", "Retry-After"):
                if header in response:
                    replaced[header] = response[header]
            return replaced
        return response

    def process_exception(self, request, exception):
        # Views outside ninja (the Stripe webhook) read the body themselves; ninja's routes use `install`'s handler.
        if isinstance(exception, RequestDataTooBig) and request.path.startswith(API_PREFIX):
            return payload_too_large(request)
        return None
