"""Onfleet's webhook: GET ?check= answers the registration handshake, POST is verified, stored, answered at once."""

from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from core.common.audit import acting_as
from core.common.errors import ValidationError
from core.common.events import InvalidSignature
from core.logistics.events import tracking_update_receive
from public_api.errors import error_body


@csrf_exempt
def onfleet_webhook(request):
    if request.method == "GET":
        if "check" not in request.GET:
            return JsonResponse(error_body("validation_error", "Missing ?check=."), status=400)
        # Exactly the value, as plain text: Onfleet compares the body byte for byte.
        return HttpResponse(request.GET["check"], content_type="text/plain; charset=utf-8")
    if request.method != "POST":
        response = JsonResponse(error_body("method_not_allowed", "Use GET or POST."), status=405)
        response["Allow"] = "GET, POST"
        return response
    try:
        with acting_as(None, user_agent="webhook:onfleet"):
            _, created = tracking_update_receive(body=request.body,
                                                 signature=request.headers.get("X-Onfleet-Signature"))
    except InvalidSignature as exc:
        return JsonResponse(error_body(exc.code, exc.message), status=401)
    except ValidationError as exc:
        return JsonResponse(error_body(exc.code, exc.message, exc.fields), status=400)
    return JsonResponse({"received": True, "duplicate": not created})


urlpatterns = [
    path("api/v1/webhooks/onfleet/", onfleet_webhook, name="onfleet-webhook"),
]
