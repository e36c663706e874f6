"""The one error type of the domain and the one list of client-visible error codes.

Every interface maps a DomainError the same way (API → 4xx JSON with its `code`, console → messages.error).
`ErrorCode` lists every code a client can receive, with the HTTP status it comes with and what it means: the
API's OpenAPI description is generated from it, so the front end reads every code in one place (the way
Saleor publishes its `*ErrorCode` enums). A code means one thing: a new meaning gets a new member.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Every `error.code` the API (and the console) can answer with."""

    # Members are (code, HTTP status, meaning); `code` is what clients see and never changes.
    def __new__(cls, value: str, status: int, meaning: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.status = status
        member.meaning = meaning
        return member

    # --- any request ---------------------------------------------------------------------------------------
    BAD_REQUEST = "bad_request", 400, "The request cannot be read (for example a malformed header)."
    VALIDATION_ERROR = ("validation_error", 422,
                        "The request is not valid; `fields` lists every problem, by field path.")
    NOT_FOUND = ("not_found", 404, "No such thing. A wrong or missing `X-Booking-Token` answers this too, "
                                   "so booking ids cannot be probed.")
    METHOD_NOT_ALLOWED = "method_not_allowed", 405, "This path does not accept this HTTP method (see `Allow`)."
    PAYLOAD_TOO_LARGE = "payload_too_large", 413, "The request body is larger than the API accepts."
    RATE_LIMITED = "rate_limited", 429, "Too many requests from this client; retry after `Retry-After` seconds."
    UNAUTHORIZED = ("unauthorized", 401,
                    "The request's credentials are missing or wrong (a provider webhook's signature, for example).")
    PERMISSION_DENIED = "permission_denied", 403, "You may not do this."
    CONFLICT = "conflict", 409, "The current state does not allow this."
    DOMAIN_ERROR = "domain_error", 400, "A business rule refused the request."
    INTERNAL_ERROR = "internal_error", 500, "Something went wrong on our side; retrying later is safe."
    DATABASE_UNAVAILABLE = ("database_unavailable", 503,
                            "The database does not answer for a moment; retry after the `Retry-After` seconds.")
    NOT_READY = ("not_ready", 503,
                 "Readiness: a dependency (database, Redis, storage, job queue) is failing; `fields` names each.")
    INVALID_TWO_FACTOR_CODE = "invalid_two_factor_code", 422, "Console sign-in: the two-factor code is wrong."

    # --- bookings and quotes -------------------------------------------------------------------------------
    INVALID_TRANSITION = ("invalid_transition", 409,
                          "The booking's status does not allow this (e.g. changing a booking that is no longer "
                          "pending).")
    DATE_UNAVAILABLE = ("date_unavailable", 409,
                        "The pickup date cannot be booked; `fields.pickup_date` gives the reasons.")
    QUOTE_EXPIRED = "quote_expired", 409, "The quote has expired; request a new preview."
    QUOTE_MISMATCH = "quote_mismatch", 409, "The quote was made for a different booking request."
    TOO_LATE_TO_CHANGE = ("too_late_to_change", 409,
                          "It is too late under the change policy to change this booking online; call us.")
    NO_CHANGE_POLICY = "no_change_policy", 409, "No change policy applies to this booking."
    QUOTE_NOT_FOUND = "quote_not_found", 404, "No such quote; request a new preview."
    IDEMPOTENCY_CONFLICT = ("idempotency_conflict", 409,
                            "This `Idempotency-Key` was already used with a different request body.")
    PAYMENT_REQUIRED = ("payment_required", 409,
                        "An earlier change's balance is still unpaid: pay it (`POST payments/create-intent/`) "
                        "before changing the booking again.")
    OVERRIDE_NOT_ALLOWED = ("override_not_allowed", 403,
                            "Console: only staff may override the change policy, and only admins above the "
                            "configured amount.")
    REASON_REQUIRED = "reason_required", 422, "Console: an override of the change policy needs a reason."

    # --- catalog and van schedule (console) ----------------------------------------------------------------
    CAPACITY_BELOW_BOOKINGS = ("capacity_below_bookings", 409,
                               "Capacity may not drop below the bookings already holding a slot on the date.")
    VAN_SCHEDULE_EXISTS = ("van_schedule_exists", 409,
                           "The date already has a van schedule (another admin may have just added it): edit that one.")

    # --- documents (COI) -----------------------------------------------------------------------------------
    BUILDING_CLOSED = ("building_closed", 409,
                       "A building on the request does not allow moves on that day (`fields.pickup_date`) or in "
                       "that pickup window (`fields.pickup_window`, its move hours); `alternatives` lists later "
                       "days it allows, `alternative_windows` the windows it allows on the requested day.")
    BUILDING_LEAD_TIME = ("building_lead_time", 409,
                          "A building on the request needs more business days' notice (Mon–Fri, US federal "
                          "holidays excepted, New York time); `fields.earliest_date` is the first date allowed, "
                          "`alternatives` the nearest bookable dates from it.")
    COI_REQUIRED = "coi_required", 409, "The building's certificate of insurance is not in order yet."
    FILE_TOO_LARGE = "file_too_large", 413, "The uploaded file is larger than we accept."
    UNSUPPORTED_FILE_TYPE = "unsupported_file_type", 415, "Send a PDF, JPEG, PNG or HEIC file."
    INVALID_DOCUMENT = "invalid_document", 422, "The file is damaged, encrypted or too complex to accept."

    # --- logistics (console) -------------------------------------------------------------------------------
    NOT_DISPATCHABLE = "not_dispatchable", 409, "This booking cannot be dispatched yet."
    DISPATCH_NOT_CONFIGURED = ("dispatch_not_configured", 503,
                               "Dispatch to the delivery provider is not configured.")

    # --- customers (console) -------------------------------------------------------------------------------
    MERGE_SAME_CUSTOMER = "merge_same_customer", 422, "A customer cannot be merged into itself."
    CUSTOMER_MERGED = ("customer_merged", 409,
                       "One of the two customers was merged into another (or removed) meanwhile: reload and retry.")

    # --- payments ------------------------------------------------------------------------------------------
    NOT_PAYABLE = ("not_payable", 409,
                   "This booking cannot be paid in its current status (e.g. cancelled or completed).")
    HOLD_EXPIRED = "hold_expired", 409, "The booking's reservation hold has expired; book again."
    NOTHING_TO_PAY = "nothing_to_pay", 409, "This booking has nothing left to pay online."
    ALREADY_PAID = "already_paid", 409, "This booking is already paid."
    PAYMENT_IN_PROGRESS = ("payment_in_progress", 409,
                           "A payment for this booking is being processed; wait for it to finish.")
    PAYMENT_PROVIDER_UNAVAILABLE = ("payment_provider_unavailable", 503,
                                    "The payment provider did not answer (or payments are not configured); "
                                    "retry in a moment.")
    PAYMENT_PROVIDER_ERROR = "payment_provider_error", 502, "The payment provider refused the request."
    NOT_REFUNDABLE = "not_refundable", 409, "This payment cannot be refunded."
    REFUND_EXCEEDS_REFUNDABLE = ("refund_exceeds_refundable", 409,
                                 "The refund is larger than what is left to refund on this payment.")
    REFUND_FAILED = "refund_failed", 409, "The payment provider refused the refund."

    # --- provider webhooks ---------------------------------------------------------------------------------
    INVALID_SIGNATURE = "invalid_signature", 400, "The webhook's signature does not verify."
    INVALID_WEBHOOK_PAYLOAD = ("invalid_webhook_payload", 400,
                               "The webhook is signed but its content is not what the provider sends.")

    # --- reports ----------------------------------------------------------------------------------------------
    LINK_EXPIRED = ("link_expired", 410,
                    "The emailed download link has expired; open the report in the console for a fresh one.")

    # --- notifications (console) ---------------------------------------------------------------------------
    TEMPLATE_INVALID = "template_invalid", 422, "The email template does not render: fix the listed problems."
    UNKNOWN_EVENT = "unknown_event", 422, "No notification is defined for this event."
    NO_RECIPIENT = "no_recipient", 409, "The customer has no address on this channel."
    NOTHING_TO_RESEND = "nothing_to_resend", 404, "This booking has no such notification to resend."

    @classmethod
    def for_status(cls, status: int) -> ErrorCode:
        """The generic code for an HTTP status that carries no code of its own (e.g. a framework's 405)."""
        generic = {400: cls.BAD_REQUEST, 401: cls.UNAUTHORIZED, 403: cls.PERMISSION_DENIED, 404: cls.NOT_FOUND,
                   405: cls.METHOD_NOT_ALLOWED, 409: cls.CONFLICT, 413: cls.PAYLOAD_TOO_LARGE,
                   422: cls.VALIDATION_ERROR, 429: cls.RATE_LIMITED}
        return generic.get(status, cls.BAD_REQUEST if 400 <= status < 500 else cls.INTERNAL_ERROR)

    @classmethod
    def markdown_table(cls) -> str:
        """Every code with its status and meaning, for the OpenAPI description."""
        rows = [f"| `{code}` | {code.status} | {code.meaning} |" for code in cls]
        return "\n".join(["| code | HTTP status | meaning |", "| --- | --- | --- |", *rows])


class DomainError(Exception):
    """A business rule refused the operation; `code` is stable and machine-readable."""

    code: ErrorCode = ErrorCode.DOMAIN_ERROR
    status: int = ErrorCode.DOMAIN_ERROR.status  # the HTTP status the API answers with

    def __init_subclass__(cls, **kwargs):
        # An unlisted code fails at import, not in front of a customer; the status follows the code unless
        # the subclass sets its own.
        super().__init_subclass__(**kwargs)
        cls.code = _listed(cls.code, where=cls.__qualname__)
        if "status" not in cls.__dict__:
            cls.status = cls.code.status

    def __init__(self, message: str = "", *, code: ErrorCode | None = None, fields: dict | None = None,
                 status: int | None = None):
        if code:
            self.code = _listed(code, where=type(self).__qualname__)
            self.status = self.code.status
        if status:
            self.status = status
        self.message = message or self.__class__.__doc__ or str(self.code)
        self.fields = fields or {}
        super().__init__(self.message)

    def as_dict(self) -> dict:
        return {"code": str(self.code), "message": self.message, "fields": self.fields}


def _listed(code, *, where: str) -> ErrorCode:
    try:
        return ErrorCode(code)
    except ValueError:
        raise ValueError(f"{where}: error code {code!r} is not in core.common.errors.ErrorCode; "
                         "add it there with its status and meaning") from None


class ValidationError(DomainError):
    """The request is not valid."""

    code = ErrorCode.VALIDATION_ERROR


class NotFound(DomainError):
    """No such thing."""

    code = ErrorCode.NOT_FOUND


class Conflict(DomainError):
    """The current state does not allow this."""

    code = ErrorCode.CONFLICT


class PermissionDenied(DomainError):
    """You may not do this."""

    code = ErrorCode.PERMISSION_DENIED
