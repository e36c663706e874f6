"""bench/api.py's URLconf: the real project URLs plus /bench/bare/, the baseline (never in production urls)."""

from django.http import JsonResponse
from django.urls import path

from totetaxi.urls import urlpatterns as project_urlpatterns


def bare(request):
    """The cheapest Django JSON view: same server, same middleware, no ninja, no database."""
    return JsonResponse({"status": "ok", "currency": "USD", "total_price": "995.00"})


urlpatterns = [path("bench/bare/", bare), *project_urlpatterns]
