"""Thin wrapper over the official twilio library: send one SMS, verify a status callback.

No ORM here: plain arguments in, an `SmsResult` or one of this module's exceptions out.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

DEFAULT_TIMEOUT = 10.0

# Every Twilio product lives on <product>[.<edge>][.<region>].twilio.com; a fake serves them all.
_TWILIO_HOST = re.compile(r"^https://[A-Za-z0-9.-]+\.twilio\.com(?=/|$)")

# 429 is Twilio's rate limiting (error 20429); 408 a timed-out request. Both are worth retrying.
_RETRYABLE_STATUSES = frozenset({408, 429})


class TwilioError(Exception):
    """Base of every error this module raises."""


class TwilioNotConfigured(TwilioError):
    """Account SID, auth token or sender number missing from settings."""


class TwilioUnavailable(TwilioError):
    """Network error, timeout, 5xx or 429: retry later.

    `maybe_sent` is True when the request may have reached Twilio (a read timeout, a dropped
    connection): Messages has no idempotency key, so a retry can deliver the SMS twice.
    """

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None,
                 maybe_sent: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.maybe_sent = maybe_sent


class TwilioRejected(TwilioError):
    """Twilio refused the message (4xx); retrying the same request will fail again.

    `code` is Twilio's error code, e.g. 21610 (recipient replied STOP), 21211 (invalid 'To' number),
    21408 (region not enabled), 20003 (bad credentials).
    """

    def __init__(self, message: str, *, status: int, code: int | None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code

    @property
    def unsubscribed(self) -> bool:
        return self.code == 21610


@dataclass(frozen=True, slots=True)
class SmsResult:
    sid: str
    status: str


class BaseUrlHttpClient(TwilioHttpClient):
    """TwilioHttpClient that sends every *.twilio.com request to `api_base` (a local fake, a proxy)."""

    def __init__(self, api_base: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.api_base = api_base.rstrip("/") if api_base else None

    def rewrite(self, url: str) -> str:
        return _TWILIO_HOST.sub(self.api_base, url, count=1) if self.api_base else url

    def request(self, method, url, *args, **kwargs):
        return super().request(method, self.rewrite(url), *args, **kwargs)


def _maybe_sent(exc: requests.RequestException) -> bool:
    """Whether the request might have been received although we got no answer."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ConnectionError):
        # Refused / DNS failure: nothing left this machine. A reset mid-response may have been read.
        text = repr(exc)
        return not any(s in text for s in ("NewConnectionError", "NameResolutionError", "Connection refused"))
    return True


class TwilioClient:
    """One account's Twilio access; safe to share between threads (requests' Session pool)."""

    def __init__(self, *, account_sid: str, auth_token: str, from_number: str | None = None,
                 api_base: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        if not account_sid or not auth_token:
            raise TwilioNotConfigured("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are required")
        self.account_sid = account_sid
        self.from_number = from_number
        self.api_base = api_base or None
        self.timeout = timeout
        self._auth_token = auth_token
        self._client = Client(
            account_sid,
            auth_token,
            http_client=BaseUrlHttpClient(api_base=self.api_base, timeout=timeout),
            # Not os.environ (an empty dict would fall back to it): TWILIO_EDGE/REGION must not move the host.
            environment={"_": ""},
        )

    def send_sms(self, *, to: str, body: str, from_: str | None = None,
                 status_callback: str | None = None) -> SmsResult:
        """Create one outbound message; raise TwilioRejected (final) or TwilioUnavailable (retry)."""
        sender = from_ or self.from_number
        if not sender:
            raise TwilioNotConfigured("no sender: pass from_ or set TWILIO_FROM_NUMBER")
        kwargs = {"to": to, "from_": sender, "body": body}
        if status_callback:
            kwargs["status_callback"] = status_callback
        try:
            message = self._client.messages.create(**kwargs)
        except (TwilioRestException, TwilioServiceException) as exc:
            raise _map_http_error(exc) from exc
        except requests.Timeout as exc:
            raise TwilioUnavailable(f"Twilio timed out: {exc}", maybe_sent=_maybe_sent(exc)) from exc
        except requests.RequestException as exc:
            raise TwilioUnavailable(f"Twilio unreachable: {exc}", maybe_sent=_maybe_sent(exc)) from exc
        except (TwilioException, ValueError) as exc:
            # A 2xx whose body we could not read: Twilio may well have queued the message.
            raise TwilioUnavailable(f"unreadable Twilio response: {exc}", maybe_sent=True) from exc
        return SmsResult(sid=message.sid, status=str(message.status or "queued"))

    def validate_signature(self, url: str, params: Mapping, signature: str | None, *,
                           algorithm: str | None = None) -> bool:
        return validate_signature(url, params, signature, auth_token=self._auth_token, algorithm=algorithm)


def _map_http_error(exc: TwilioRestException | TwilioServiceException) -> TwilioError:
    status = int(exc.status)
    code = exc.code if isinstance(exc.code, int) else None
    detail = (exc.detail or exc.title) if isinstance(exc, TwilioServiceException) else exc.msg
    message = f"Twilio HTTP {status}" + (f" (error {code})" if code else "") + f": {detail}"
    if status >= 500 or status in _RETRYABLE_STATUSES:
        return TwilioUnavailable(message, status=status, code=code)
    return TwilioRejected(message, status=status, code=code)


def validate_signature(url: str, params: Mapping, signature: str | None, *, auth_token: str | None = None,
                       algorithm: str | None = None) -> bool:
    """Check X-Twilio-Signature for a POST callback.

    `url` must be exactly what Twilio requested (scheme, host, port, path and query), so behind a proxy
    rebuild it from the public address, not from request.build_absolute_uri() of the internal hop.
    `params` is the POST form (a QueryDict is fine: repeated keys are signed). `algorithm` comes from
    the X-Twilio-Webhooks-Signature-Settings header when Twilio signs with a shared key.
    """
    if not signature:
        return False
    if auth_token is None:
        auth_token = _settings_value("TWILIO_AUTH_TOKEN")
    if not auth_token:
        raise TwilioNotConfigured("TWILIO_AUTH_TOKEN is required to validate signatures")
    return bool(RequestValidator(auth_token).validate(url, params, signature, algorithm=algorithm))


def _settings_value(name: str, default=None):
    """The setting (totetaxi/settings.py reads every TWILIO_* from the environment), or `default` when unset."""
    from django.conf import settings

    value = getattr(settings, name, None)
    return default if value in (None, "") else value


_cache_lock = threading.Lock()
_cached: tuple[tuple, TwilioClient] | None = None


def get_client() -> TwilioClient:
    """The client for the current settings (TWILIO_ACCOUNT_SID, _AUTH_TOKEN, _FROM_NUMBER, _API_BASE).

    Reused while those settings stay the same, so the connection pool survives between sends and a test's
    override_settings still takes effect. TWILIO_TIMEOUT (seconds, default 10) is optional.
    """
    global _cached
    key = (
        _settings_value("TWILIO_ACCOUNT_SID"),
        _settings_value("TWILIO_AUTH_TOKEN"),
        _settings_value("TWILIO_FROM_NUMBER"),
        _settings_value("TWILIO_API_BASE"),
        float(_settings_value("TWILIO_TIMEOUT", DEFAULT_TIMEOUT)),
    )
    with _cache_lock:
        if _cached is not None and _cached[0] == key:
            return _cached[1]
        sid, token, from_number, api_base, timeout = key
        client = TwilioClient(account_sid=sid, auth_token=token, from_number=from_number,
                              api_base=api_base, timeout=timeout)
        _cached = (key, client)
        return client


def send_sms(*, to: str, body: str, from_: str | None = None, status_callback: str | None = None) -> SmsResult:
    """Send with the settings-configured client; see TwilioClient.send_sms."""
    return get_client().send_sms(to=to, body=body, from_=from_, status_callback=status_callback)
