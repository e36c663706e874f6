"""Delivery-tracking webhooks: Twilio SMS status callbacks, and anymail's (Postmark) tracking views.

Postmark: /webhooks/anymail/postmark/tracking/ (anymail checks HTTP basic auth = ANYMAIL["WEBHOOK_SECRET"]
and sends the `tracking` signal, which core.notifications.receivers turns into a service call).
Twilio: /webhooks/twilio/status/ (message status callbacks) and /webhooks/twilio/inbound/ (the number's
"A message comes in" webhook: STOP/START), both checked with X-Twilio-Signature over the public URL + params.
"""

import logging
import re

import pydantic
from anymail.signals import tracking
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.common.audit import acting_as
from core.common.payloads import contains_nul
from core.integrations.twilio import TwilioNotConfigured, validate_signature
from core.notifications.receivers import anymail_tracking
from core.notifications.services import sms_inbound_record, sms_status_record
from public_api.postmark_payload import MalformedPostmarkEvent, PostmarkTrackingPayload

logger = logging.getLogger(__name__)


def public_url(request) -> str:
    """The URL the caller used: behind a proxy, the internal hop's host/scheme differ from what Twilio signed."""
    base = str(getattr(settings, "PUBLIC_BASE_URL", "") or "").rstrip("/")
    return f"{base}{request.get_full_path()}" if base else request.build_absolute_uri()


def _malformed(request, *, provider: str, problem: str | None):
    """The response to a signed/authenticated post we cannot use, or None: logged, 400, never a 5xx (a 5xx is
    retried for days and the body never gets better)."""
    if problem is None:
        return None
    logger.warning("refused a malformed %s webhook: %s", provider, problem, extra={"path": request.path})
    return HttpResponseBadRequest(f"malformed webhook: {problem}")


def _twilio_problem(request) -> str | None:
    """What makes a signed Twilio callback unusable: a NUL anywhere, or our `n` parameter not a plain number."""
    for name, values in (*request.GET.lists(), *request.POST.lists()):
        if contains_nul(name) or contains_nul(values):
            return f"NUL character in {name!r}"
    # str.isdigit() also accepts "²" or "٣", which int() refuses: only ASCII digits are our ids.
    if (n := request.GET.get("n")) is not None and not re.fullmatch(r"[0-9]{1,18}", n):
        return "n is not a notification id"
    return None


def _refuse_unsigned(request):
    """None when X-Twilio-Signature matches; otherwise the response to send."""
    try:
        valid = validate_signature(public_url(request), request.POST, request.headers.get("X-Twilio-Signature"))
    except TwilioNotConfigured:
        logger.error("Twilio webhook received but TWILIO_AUTH_TOKEN is not set")
        return HttpResponse(status=503)
    if not valid:
        logger.warning("Twilio webhook with a bad signature for %s", public_url(request))
        return HttpResponseForbidden("invalid signature")
    return None


@csrf_exempt
@require_POST
def twilio_status_callback(request):
    if (refused := _refuse_unsigned(request)) is not None:
        return refused
    if (refused := _malformed(request, provider="Twilio", problem=_twilio_problem(request))) is not None:
        return refused
    message_sid = request.POST.get("MessageSid") or request.POST.get("SmsSid") or ""
    status = request.POST.get("MessageStatus") or request.POST.get("SmsStatus") or ""
    if (refused := _malformed(request, provider="Twilio", problem=None if message_sid and status else
                              "missing MessageSid or MessageStatus")) is not None:
        return refused
    with acting_as(None, user_agent="webhook:twilio"):
        sms_status_record(
            message_sid=message_sid, status=status, notification_id=request.GET.get("n"),
            error_code=request.POST.get("ErrorCode", ""),
            details={"to": request.POST.get("To", ""), "error_message": request.POST.get("ErrorMessage", "")},
        )
    # Twilio retries on non-2xx; a duplicate or unknown message is still "handled".
    return HttpResponse(status=204)


class PostmarkTrackingView(PostmarkTrackingWebhookView):
    """anymail's Postmark tracking view (basic auth, parsing); only events it sends reach the notifications.

    anymail trusts the body's shape once basic auth passes; an empty, array or mistyped body would raise deep in
    its parsing (a 500), so the body is checked against what Postmark sends first.
    """

    def post(self, request, *args, **kwargs):
        if not self.basic_auth:
            # anymail would accept anyone's post (with a warning); a forged bounce would suppress a customer.
            logger.error("refused a Postmark tracking webhook: ANYMAIL_WEBHOOK_SECRET is not set")
            return HttpResponseForbidden("webhook authentication is not configured")
        try:
            return super().post(request, *args, **kwargs)
        except MalformedPostmarkEvent as exc:
            return _malformed(request, provider="Postmark", problem=str(exc))

    def parse_events(self, request):
        try:
            payload = PostmarkTrackingPayload.model_validate_json(request.body)
        except pydantic.ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
            raise MalformedPostmarkEvent(problems[:500]) from None
        return [self.esp_to_anymail_event(payload.model_dump(exclude_unset=True))]


tracking.connect(anymail_tracking, sender=PostmarkTrackingView, dispatch_uid="notifications.postmark_tracking")


@csrf_exempt
@require_POST
def twilio_inbound_sms(request):
    """Replies to our number: STOP/START keywords update the SMS suppression list; nothing is answered."""
    if (refused := _refuse_unsigned(request)) is not None:
        return refused
    if (refused := _malformed(request, provider="Twilio", problem=_twilio_problem(request))) is not None:
        return refused
    with acting_as(None, user_agent="webhook:twilio"):
        sms_inbound_record(from_number=request.POST.get("From", ""), body=request.POST.get("Body", ""),
                           message_sid=request.POST.get("MessageSid", ""))
    # Empty TwiML: Twilio sends its own STOP/START confirmations.
    return HttpResponse('<?xml version="1.0" encoding="UTF-8"?><Response></Response>', content_type="text/xml")


urlpatterns = [
    path("webhooks/twilio/status/", twilio_status_callback, name="twilio-status-callback"),
    path("webhooks/twilio/inbound/", twilio_inbound_sms, name="twilio-inbound-sms"),
    # anymail's Postmark tracking view at anymail's usual URL, with our receiver attached (anymail.urls would
    # also publish a URL for every other ESP, which nothing here listens to).
    path("webhooks/anymail/postmark/tracking/", PostmarkTrackingView.as_view(), name="postmark-tracking-webhook"),
]
