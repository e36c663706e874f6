"""The database restarting or unreachable answers 503 everywhere, never a 500.

The API's routes already answer 503 `database_unavailable` through ninja's handler (public_api.errors). This
covers the rest: console and other HTML pages, and whatever raised outside a view (the session, the user, the
two-factor and lockout middleware all read the database before any view runs). Django turns such an exception
into a 500 at the layer it was raised in and announces it on `got_request_exception`; the request is marked
there, and `DatabaseOutageMiddleware`, outside every middleware that touches the database, replaces the 500:
an HTML page rendered without a database query (no context processors, no user), or the API's envelope.
"""

from __future__ import annotations

import logging
import sys

from django.core.signals import got_request_exception
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

from core.common.errors import ErrorCode
from public_api.errors import API_PREFIX, DatabaseUnavailable, error_body

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
_MARK = "_database_unavailable"


def _is_database_outage(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 5:  # a template or a wrapper may have re-raised it under another type
        if isinstance(exc, DatabaseUnavailable):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _mark_request(sender, request=None, **kwargs) -> None:
    if request is not None and _is_database_outage(sys.exc_info()[1]):
        setattr(request, _MARK, True)


got_request_exception.connect(_mark_request, dispatch_uid="totetaxi.outage")


def unavailable_page() -> HttpResponse:
    try:
        body = render_to_string("503.html")
    except Exception:  # noqa: BLE001 (a missing static manifest must not turn the outage page into a 500)
        logger.exception("outage page could not be rendered")
        body = "<!DOCTYPE html><title>Temporarily unavailable</title><h1>Temporarily unavailable</h1>"
    response = HttpResponse(body, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseOutageMiddleware:
    """A request that failed because the database is unavailable answers 503 with Retry-After, not a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 500 or not getattr(request, _MARK, False):
            return response
        if request.path.startswith(API_PREFIX):
            replaced = JsonResponse(error_body(ErrorCode.DATABASE_UNAVAILABLE,
                                               "The service is briefly unavailable; please retry."), status=503)
            replaced["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return replaced
        return unavailable_page()
