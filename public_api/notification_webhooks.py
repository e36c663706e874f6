"""Delivery-tracking webhooks: Twilio SMS status callbacks, and anymail's (Postmark) tracking views.

Postmark: /webhooks/anymail/postmark/tracking/ (anymail checks HTTP basic auth = ANYMAIL["WEBHOOK_SECRET"]
and sends the `tracking` signal, which core.notifications.receivers turns into a service call).
Twilio: /webhooks/twilio/status/ (X-Twilio-Signature over the public URL + POST params).
"""

import logging

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.common.audit import acting_as
from core.integrations.twilio import TwilioNotConfigured, validate_signature
from core.notifications import receivers  # noqa: F401  (connects the anymail tracking receiver)
from core.notifications.services import sms_status_record

logger = logging.getLogger(__name__)


def public_url(request) -> str:
    """The URL the caller used: behind a proxy, the internal hop's host/scheme differ from what Twilio signed."""
    base = str(getattr(settings, "PUBLIC_BASE_URL", "") or "").rstrip("/")
    return f"{base}{request.get_full_path()}" if base else request.build_absolute_uri()


@csrf_exempt
@require_POST
def twilio_status_callback(request):
    try:
        valid = validate_signature(public_url(request), request.POST, request.headers.get("X-Twilio-Signature"))
    except TwilioNotConfigured:
        logger.error("Twilio status callback received but TWILIO_AUTH_TOKEN is not set")
        return HttpResponse(status=503)
    if not valid:
        logger.warning("Twilio status callback with a bad signature for %s", public_url(request))
        return HttpResponseForbidden("invalid signature")
    message_sid = request.POST.get("MessageSid") or request.POST.get("SmsSid") or ""
    status = request.POST.get("MessageStatus") or request.POST.get("SmsStatus") or ""
    if not message_sid or not status:
        return HttpResponse("missing MessageSid or MessageStatus", status=400)
    with acting_as(None, user_agent="webhook:twilio"):
        sms_status_record(
            message_sid=message_sid, status=status, notification_id=request.GET.get("n"),
            error_code=request.POST.get("ErrorCode", ""),
            details={"to": request.POST.get("To", ""), "error_message": request.POST.get("ErrorMessage", "")},
        )
    # Twilio retries on non-2xx; a duplicate or unknown message is still "handled".
    return HttpResponse(status=204)


urlpatterns = [
    path("webhooks/twilio/status/", twilio_status_callback, name="twilio-status-callback"),
    path("webhooks/anymail/", include("anymail.urls")),
]
