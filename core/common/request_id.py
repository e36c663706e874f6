"""Request ids: one per request, in every JSON log line, in the `X-Request-ID` response header, and carried
into the Huey tasks the request enqueues (through the task id, see core.common.jobs)."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import uuid

REQUEST_ID_HEADER = "X-Request-ID"
# A proxy's id is kept when it looks like one (Fly and most load balancers send a uuid or hex); anything else is
# replaced, so log lines and task ids never carry client-chosen text.
_VALID = re.compile(r"^[A-Za-z0-9-]{8,64}$")

_current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def current_request_id() -> str:
    return _current.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextlib.contextmanager
def bound_request_id(value: str):
    token = _current.set(value)
    try:
        yield value
    finally:
        _current.reset(token)


class RequestIdMiddleware:
    """Sets the request id for everything the request does, and answers it in `X-Request-ID`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _VALID.match(incoming) else new_request_id()
        request.request_id = request_id
        with bound_request_id(request_id):
            response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` to every record (empty outside a request or task), so the JSON formatter prints it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            # django.request logs a 4xx/5xx after the middleware chain has returned: read it off the request.
            record.request_id = current_request_id() or getattr(getattr(record, "request", None), "request_id", "")
        return True
