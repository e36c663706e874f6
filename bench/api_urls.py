"""bench/api.py's URLconf: the real project URLs plus bench-only baselines (never in production urls).

  /bench/bare/          the cheapest Django JSON view: same server, same middleware, no ninja, no database
  /bench/ninja-echo/    django-ninja alone: preview's request and response schemas validated, no work
  /bench/ninja-insert/  ninja-echo plus the one write preview must make: an INSERT of a (constant) quote row
"""

import datetime as dt
import uuid
from decimal import Decimal

from django.http import JsonResponse
from django.urls import path
from django.utils import timezone
from ninja import NinjaAPI, Status

from core.bookings.models import Quote
from core.bookings.services import quote_insert
from public_api.schemas import BOOKABLE_EXAMPLE, PRICE_EXAMPLE, BookingRequestIn, QuoteOut
from totetaxi.urls import urlpatterns as project_urlpatterns

BREAKDOWN = PRICE_EXAMPLE  # the contract's example breakdown: a realistic row and response size


def bare(request):
    return JsonResponse({"status": "ok", "currency": "USD", "total_price": "995.00"})


reference = NinjaAPI(urls_namespace="bench-reference", docs_url=None, openapi_url=None)


@reference.post("ninja-echo/", response={200: QuoteOut})
def ninja_echo(request, payload: BookingRequestIn):
    now = timezone.now()
    return Status(200, QuoteOut.model_validate({**BREAKDOWN, **BOOKABLE_EXAMPLE, "quote_id": str(uuid.uuid4()),
                                                "expires_at": now + dt.timedelta(minutes=30)}))


@reference.post("ninja-insert/", response={200: QuoteOut})
def ninja_insert(request, payload: BookingRequestIn):
    now = timezone.now()
    quote = Quote(id=uuid.uuid4(), request_hash="0" * 64, request={"pricing_hash": "0" * 64}, breakdown=BREAKDOWN,
                  total_price=Decimal(BREAKDOWN["total_price"]), expires_at=now + dt.timedelta(minutes=30), created_at=now,
                  updated_at=now)
    quote_insert(quote)
    return Status(200, QuoteOut.model_validate({**BREAKDOWN, **BOOKABLE_EXAMPLE, "quote_id": str(quote.pk),
                                                "expires_at": quote.expires_at}))


urlpatterns = [path("bench/bare/", bare), path("bench/", reference.urls), *project_urlpatterns]
