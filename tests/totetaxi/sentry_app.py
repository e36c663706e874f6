"""URLs and a job for tests/totetaxi/test_sentry.py's subprocess: code that fails with personal data in hand."""

from django.http import HttpResponse
from django.urls import path
from huey.contrib.djhuey import task


def boom(request):
    customer_email = request.GET.get("email", "")
    card = "4242 4242 4242 4242"
    raise ValueError(f"could not charge {card} for {customer_email}")


def ok(request):
    return HttpResponse("ok")


@task()
def failing_job(card_number: str, email: str):
    raise RuntimeError(f"job failed for card {card_number} of {email}")


urlpatterns = [path("boom/", boom), path("ok/", ok)]
