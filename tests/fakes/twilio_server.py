"""A stdlib fake of Twilio's REST API (Messages) speaking Twilio's wire format, for tests and local runs.

    with FakeTwilioServer() as fake:
        client = TwilioClient(account_sid=fake.account_sid, auth_token=fake.auth_token,
                              from_number=fake.from_number, api_base=fake.url)

Only what our SMS sending uses: create and fetch a Message, basic auth, Twilio error JSON, opt-outs
(error 21610), invalid numbers (21211), and correctly signed status callbacks.
"""

from __future__ import annotations

import base64
import math
import re
import secrets
import urllib.parse
from datetime import UTC, datetime
from email.utils import format_datetime

from twilio.request_validator import RequestValidator

from tests.fakes._http_fake import FakeHttpServer

API_VERSION = "2010-04-01"
_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")
_MESSAGE = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages/(?P<msid>[^/]+)\.json$")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")

_ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21211: "The 'To' number {to} is not a valid phone number.",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21617: "The concatenated message body exceeds the 1600 character limit.",
}
_STATUS_CODES = {401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503}
CALLBACK_STATUSES = ("queued", "sending", "sent", "delivered", "undelivered", "failed", "canceled")


def twilio_error(code: int, status: int, **fmt) -> dict:
    return {
        "code": code,
        "message": _ERROR_MESSAGES.get(code, "Error").format(**fmt),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _now() -> str:
    return format_datetime(datetime.now(UTC).replace(microsecond=0), usegmt=False)


class FakeTwilioServer(FakeHttpServer):
    """Fake api.twilio.com. Controls: fail_next, hang_next, opt_out/opt_in; inspect `messages`."""

    def __init__(self, *, account_sid: str | None = None, auth_token: str | None = None,
                 from_number: str = "+16315550100") -> None:
        super().__init__()
        self.account_sid = account_sid or "AC" + secrets.token_hex(16)
        self.auth_token = auth_token or secrets.token_hex(16)
        self.from_number = from_number
        self.opted_out: set[str] = set()
        # Each entry: Twilio's message resource plus "status_callback" (the URL we were given, or None).
        self.messages: list[dict] = []

    # controls ------------------------------------------------------------------------------------
    def opt_out(self, number: str) -> None:
        """The recipient replied STOP: further sends to it fail with 400 / error 21610."""
        with self._lock:
            self.opted_out.add(number)

    def get_message(self, message_sid: str) -> dict:
        with self._lock:
            for message in self.messages:
                if message["sid"] == message_sid:
                    return message
        raise KeyError(message_sid)

    def status_callback_request(self, message_sid: str, status: str, url: str | None = None,
                                auth_token: str | None = None, *, error_code: int | None = None,
                                **extra: str) -> tuple[dict[str, str], str]:
        """The form params and X-Twilio-Signature Twilio would POST to the message's StatusCallback.

        `url` defaults to the StatusCallback the message was sent with, `auth_token` to this account's
        token (pass another to produce a bad signature). Failed/undelivered carry an ErrorCode (default
        30003, unreachable handset). Also records the new status on the stored message.
        """
        if status not in CALLBACK_STATUSES:
            raise ValueError(f"unknown message status {status!r}")
        message = self.get_message(message_sid)
        url = url or message["status_callback"]
        if not url:
            raise ValueError("message was sent without a StatusCallback; pass url=")
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "From": message["from"] or "",
            "MessageSid": message_sid,
            "MessageStatus": status,
            "SmsSid": message_sid,
            "SmsStatus": status,
            "To": message["to"],
        }
        if message.get("messaging_service_sid"):
            params["MessagingServiceSid"] = message["messaging_service_sid"]
        if status in ("failed", "undelivered"):
            params["ErrorCode"] = str(error_code or 30003)
        params.update({key: str(value) for key, value in extra.items()})
        with self._lock:
            message["status"] = status
            message["date_updated"] = _now()
            if status in ("sent", "delivered"):
                message["date_sent"] = message["date_sent"] or message["date_updated"]
            if "ErrorCode" in params:
                message["error_code"] = int(params["ErrorCode"])
        signature = RequestValidator(auth_token or self.auth_token).compute_signature(url, params)
        return params, signature

    # protocol ------------------------------------------------------------------------------------
    def is_api_request(self, method: str, path: str) -> bool:
        return path.startswith("/2010-04-01/")

    def error_payload(self, status: int) -> dict:
        return twilio_error(_STATUS_CODES.get(status, 20500), status)

    def _authorized(self, handler) -> bool:
        header = handler.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return secrets.compare_digest(user, self.account_sid) and secrets.compare_digest(
            password, self.auth_token)

    def handle(self, handler, method, path, body):
        path = urllib.parse.urlsplit(path).path
        if not self.is_api_request(method, path):
            return 404, {}, twilio_error(20404, 404)
        if not self._authorized(handler):
            return 401, {"WWW-Authenticate": 'Basic realm="Twilio API"'}, twilio_error(20003, 401)
        if match := _MESSAGES.match(path):
            if match["sid"] != self.account_sid:
                return 404, {}, twilio_error(20404, 404)
            if method == "POST":
                return self._create_message(body)
            with self._lock:
                page = [self._public(m) for m in reversed(self.messages)]
            return 200, {}, {"messages": page, "page": 0, "page_size": 50, "first_page_uri": path,
                             "next_page_uri": None, "previous_page_uri": None, "uri": path, "start": 0,
                             "end": len(page)}
        if (match := _MESSAGE.match(path)) and method == "GET":
            if match["sid"] != self.account_sid:
                return 404, {}, twilio_error(20404, 404)
            try:
                return 200, {}, self._public(self.get_message(match["msid"]))
            except KeyError:
                return 404, {}, twilio_error(20404, 404)
        return 404, {}, twilio_error(20404, 404)

    def _create_message(self, body: bytes):
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode(), keep_blank_values=True).items()}
        to = form.get("To", "")
        sender = form.get("From") or None
        service = form.get("MessagingServiceSid") or None
        text = form.get("Body", "")
        if not to:
            return 400, {}, twilio_error(21604, 400)
        if not sender and not service:
            return 400, {}, twilio_error(21603, 400)
        if not text and not form.get("MediaUrl"):
            return 400, {}, twilio_error(21602, 400)
        if not _E164.match(to):
            return 400, {}, twilio_error(21211, 400, to=to)
        if len(text) > 1600:
            return 400, {}, twilio_error(21617, 400)
        with self._lock:
            if to in self.opted_out:
                return 400, {}, twilio_error(21610, 400)
        sid = "SM" + secrets.token_hex(16)
        now = _now()
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json"
        resource = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": text,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender,
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": str(max(1, math.ceil(len(text) / 153)) if len(text) > 160 else 1),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": to,
            "uri": uri,
        }
        with self._lock:
            self.messages.append({**resource, "status_callback": form.get("StatusCallback") or None})
        return 201, {}, resource

    @staticmethod
    def _public(message: dict) -> dict:
        return {k: v for k, v in message.items() if k != "status_callback"}
