"""A stdlib fake of Postmark's email API, shaped for django-anymail's Postmark backend and webhook.

    with FakePostmarkServer() as fake:
        ANYMAIL = {"POSTMARK_SERVER_TOKEN": fake.server_token, "POSTMARK_API_URL": fake.api_url}

Covers POST /email and /email/batch: the server-token header, Postmark's success body, error 300 (invalid
address, HTTP 422), error 406 (inactive recipient, HTTP 422) and the partial "Message OK, but will not
deliver to these inactive addresses" success; plus tracking-webhook payloads (`tracking_event`).
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import uuid
from datetime import UTC, datetime
from email.utils import getaddresses

from tests.fakes._http_fake import FakeHttpServer

_ADDR_SPEC = re.compile(r"^[^@\s<>,;\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_INACTIVE_TAIL = "Inactive recipients are ones that have generated a hard bounce, a spam complaint, or a manual suppression."
MAX_BATCH = 500

# Bounce webhook "Type" → (TypeCode, Name, Description), as Postmark documents its bounce types.
BOUNCE_TYPES = {
    "HardBounce": (1, "Hard bounce",
                   "The server was unable to deliver your message (ex: unknown user, mailbox not found)."),
    "Transient": (2, "Message delayed", "The server could not temporarily deliver your message."),
    "Unsubscribe": (16, "Unsubscribe request", "Unsubscribe or Remove request."),
    "AutoResponder": (64, "Auto responder", "Automatic email responder (ex: \"Out of Office\")."),
    "DnsError": (256, "DNS error", "A temporary DNS error."),
    "SoftBounce": (4096, "Soft bounce", "Unable to temporarily deliver this message."),
    "BadEmailAddress": (100000, "Invalid email address", "The address is not a valid email address."),
    "SpamComplaint": (100001, "Spam complaint",
                      "The subscriber explicitly marked this message as spam."),
    "ManuallyDeactivated": (100002, "Manually deactivated", "The email was manually deactivated."),
    "Blocked": (100006, "ISP block", "The ISP blocked the message."),
    "DMARCPolicy": (100009, "DMARC policy", "The message was rejected because of the DMARC policy."),
}
# Types after which Postmark stops sending to the address.
_DEACTIVATING = {"HardBounce", "SpamComplaint", "BadEmailAddress", "ManuallyDeactivated"}

_CLIENT = {"Name": "Gmail", "Company": "Google", "Family": "Gmail"}
_OS = {"Name": "iOS 18", "Company": "Apple Computer, Inc.", "Family": "iOS"}
_GEO = {"CountryISOCode": "US", "Country": "United States", "RegionISOCode": "NY", "Region": "New York",
        "City": "New York", "Zip": "10001", "Coords": "40.7506,-73.9971", "IP": "203.0.113.10"}
_USER_AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"


def _postmark_time() -> str:
    # Postmark writes 7 fractional digits; Django's parse_datetime (used by anymail) accepts them.
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def _addresses(value) -> list[tuple[str, str]]:
    if not value:
        return []
    return getaddresses([value]) if isinstance(value, str) else []


class FakePostmarkServer(FakeHttpServer):
    """Fake api.postmarkapp.com. Controls: fail_next, hang_next, inactive/reactivate; inspect `messages`."""

    def __init__(self, *, server_token: str | None = None, server_id: int = 23) -> None:
        super().__init__()
        self.server_token = server_token or str(uuid.uuid4())
        self.server_id = server_id
        self.inactive_addresses: set[str] = set()
        # Each accepted message: the JSON Postmark received plus "MessageID", "SubmittedAt" and
        # "DeliveredTo" (the lower-cased recipients that were not inactive).
        self.messages: list[dict] = []
        self._event_ids = itertools.count(4323372036854775000)

    @property
    def api_url(self) -> str:
        """Value for ANYMAIL["POSTMARK_API_URL"] (anymail appends "email", "email/batch"...)."""
        return self.url + "/"

    # controls ------------------------------------------------------------------------------------
    def inactive(self, address: str) -> None:
        """Mark an address inactive (hard bounce / spam complaint): sends to it are refused (406)."""
        with self._lock:
            self.inactive_addresses.add(address.strip().lower())

    def reactivate(self, address: str) -> None:
        with self._lock:
            self.inactive_addresses.discard(address.strip().lower())

    def get_message(self, message_id: str) -> dict:
        with self._lock:
            for message in self.messages:
                if message["MessageID"] == message_id:
                    return message
        raise KeyError(message_id)

    def tracking_event(self, record_type: str, message_id: str, recipient: str, **extra) -> dict:
        """A Postmark webhook payload as anymail's PostmarkTrackingWebhookView parses it.

        record_type: "Delivery", "Bounce" (Type defaults to "HardBounce"; pass Type="SoftBounce" etc.),
        "SpamComplaint", "Open", "Click" or "SubscriptionChange". Tag, Metadata and MessageStream are
        copied from the sent message when `message_id` is one of `messages`; `extra` overrides any field.
        Bounce and SpamComplaint carry a unique numeric "ID" (anymail's event_id); the others have none.
        A hard bounce or spam complaint also makes the address inactive, as Postmark does.
        """
        try:
            sent = self.get_message(message_id)
        except KeyError:
            sent = {}
        common = {
            "RecordType": record_type,
            "MessageStream": sent.get("MessageStream", "outbound"),
            "MessageID": message_id,
            "Tag": sent.get("Tag", ""),
            "Metadata": dict(sent.get("Metadata") or {}),
        }
        now = _postmark_time()
        if record_type == "Delivery":
            payload = {**common, "ServerID": self.server_id, "Recipient": recipient, "DeliveredAt": now,
                       "Details": "smtp;250 2.0.0 OK  1730000000 ps12-20020a05 - gsmtp"}
        elif record_type in ("Bounce", "SpamComplaint"):
            bounce_type = extra.pop("Type", "HardBounce" if record_type == "Bounce" else "SpamComplaint")
            type_code, name, description = BOUNCE_TYPES.get(bounce_type, (2048, "Unknown", "Unknown."))
            inactive = bounce_type in _DEACTIVATING
            payload = {
                **common,
                "ID": next(self._event_ids),
                "Type": bounce_type,
                "TypeCode": type_code,
                "Name": name,
                "ServerID": self.server_id,
                "Description": description,
                "Details": ("smtp;550 5.1.1 The email account that you tried to reach does not exist."
                            if record_type == "Bounce" else "Test spam complaint details"),
                "Email": recipient,
                "From": sent.get("From", "bookings@totetaxi.com"),
                "BouncedAt": now,
                "DumpAvailable": True,
                "Inactive": inactive,
                "CanActivate": record_type == "Bounce",
                "Subject": sent.get("Subject", ""),
                "Content": "",
            }
            if inactive:
                self.inactive(recipient)
        elif record_type == "Open":
            payload = {**common, "FirstOpen": True, "Client": _CLIENT, "OS": _OS, "Platform": "Mobile",
                       "UserAgent": _USER_AGENT, "ReadSeconds": 5, "Geo": _GEO, "ReceivedAt": now,
                       "Recipient": recipient}
        elif record_type == "Click":
            payload = {**common, "ClickLocation": "HTML", "Client": _CLIENT, "OS": _OS, "Platform": "Mobile",
                       "UserAgent": _USER_AGENT, "OriginalLink": "https://totetaxi.com/", "Geo": _GEO,
                       "ReceivedAt": now, "Recipient": recipient}
        elif record_type == "SubscriptionChange":
            payload = {**common, "ServerID": self.server_id, "ChangedAt": now, "Recipient": recipient,
                       "Origin": "Recipient", "SuppressSending": True, "SuppressionReason": "ManualSuppression"}
            if extra.get("SuppressSending", True):
                self.inactive(recipient)
            else:
                self.reactivate(recipient)
        else:
            raise ValueError(f"unsupported RecordType {record_type!r}")
        payload.update(extra)
        return payload

    # protocol ------------------------------------------------------------------------------------
    def is_api_request(self, method: str, path: str) -> bool:
        return path.startswith("/email")

    def error_payload(self, status: int) -> dict:
        if status == 429:
            return {"ErrorCode": 429, "Message": "Rate limit exceeded."}
        if status == 503:
            return {"ErrorCode": 503, "Message": "Service Unavailable."}
        return {"ErrorCode": 500, "Message": "Internal Server Error."}

    def handle(self, handler, method, path, body):
        path = path.split("?", 1)[0].rstrip("/")
        if path not in ("/email", "/email/batch") or method != "POST":
            return 404, {}, {"ErrorCode": 404, "Message": "Not Found."}
        token = handler.headers.get("X-Postmark-Server-Token")
        if not token:
            return 401, {}, {"ErrorCode": 10, "Message": (
                "No Account or Server API tokens were supplied in the HTTP headers. Please add a header "
                "for either X-Postmark-Server-Token or X-Postmark-Account-Token.")}
        if not secrets.compare_digest(token, self.server_token):
            return 401, {}, {"ErrorCode": 10, "Message": (
                "The Server Token you provided in the X-Postmark-Server-Token request header was invalid. "
                "Please verify that you are using a valid token.")}
        if "application/json" not in (handler.headers.get("Content-Type") or ""):
            return 415, {}, {"ErrorCode": 409, "Message": (
                "Your HTTP request does not have the Accept and Content-Type headers set to application/json.")}
        try:
            data = json.loads(body or b"null")
        except ValueError:
            return 422, {}, {"ErrorCode": 402, "Message": "Received invalid JSON input."}

        if path == "/email":
            if not isinstance(data, dict):
                return 422, {}, {"ErrorCode": 402, "Message": "Received invalid JSON input."}
            result = self._send_one(data)
            return (200 if result["ErrorCode"] == 0 else 422), {}, result

        if not isinstance(data, list) or not all(isinstance(m, dict) for m in data):
            return 422, {}, {"ErrorCode": 402, "Message": "Received invalid JSON input."}
        if len(data) > MAX_BATCH:
            return 422, {}, {"ErrorCode": 411, "Message": f"The batch exceeds the limit of {MAX_BATCH} messages."}
        # The batch call answers 200 with one result per message, errors included.
        return 200, {}, [self._send_one(message) for message in data]

    def _send_one(self, data: dict) -> dict:
        from_list = _addresses(data.get("From"))
        if not from_list or not _ADDR_SPEC.match(from_list[0][1]):
            return {"ErrorCode": 300, "Message": f"Invalid 'From' address: '{data.get('From', '')}'."}
        recipients: list[str] = []
        for field in ("To", "Cc", "Bcc"):
            for _name, addr in _addresses(data.get(field)):
                if not _ADDR_SPEC.match(addr):
                    return {"ErrorCode": 300, "Message": f"Invalid '{field}' address: '{addr}'."}
                recipients.append(addr.lower())
        if not recipients:
            return {"ErrorCode": 300, "Message": "Zero recipients specified"}
        if not data.get("HtmlBody") and not data.get("TextBody"):
            return {"ErrorCode": 300, "Message": "Provide either email TextBody or HtmlBody or both."}

        with self._lock:
            inactive = [addr for addr in recipients if addr in self.inactive_addresses]
        if len(inactive) == len(recipients):
            return {"ErrorCode": 406, "Message": (
                "You tried to send to recipient(s) that have been marked as inactive.\n"
                f"Found inactive addresses: {', '.join(inactive)}.\n{_INACTIVE_TAIL} ")}

        message_id = str(uuid.uuid4())
        submitted_at = datetime.now(UTC).isoformat()
        with self._lock:
            self.messages.append({**data, "MessageID": message_id, "SubmittedAt": submitted_at,
                                  "DeliveredTo": [a for a in recipients if a not in inactive]})
        result = {"SubmittedAt": submitted_at, "MessageID": message_id, "ErrorCode": 0, "Message": "OK"}
        if data.get("To"):
            result = {"To": data["To"], **result}
        if inactive:
            result["Message"] = (
                f"Message OK, but will not deliver to these inactive addresses: {', '.join(inactive)}. "
                f"{_INACTIVE_TAIL}")
        return result
