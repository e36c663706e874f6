"""Provider webhooks are plain Django views (raw body for signatures; Onfleet's check wants plain text)."""

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.common.errors import DomainError
from core.payments.webhooks import stripe_event_receive
from public_api.errors import error_body


@csrf_exempt
@require_POST  # the 405 gets the error envelope from ApiErrorEnvelopeMiddleware
def stripe_webhook(request):
    """Verify Stripe-Signature over the raw body, store the event once, answer at once; work runs after commit."""
    try:
        _, created = stripe_event_receive(payload=request.body, signature=request.headers.get("Stripe-Signature"))
    except DomainError as exc:  # a bad signature, or a signed body that is not a Stripe event
        return JsonResponse(error_body(exc.code, exc.message), status=exc.status)
    return JsonResponse({"received": True, "duplicate": not created})


urlpatterns: list = [
    path("api/v1/webhooks/stripe/", stripe_webhook, name="stripe-webhook"),
]
