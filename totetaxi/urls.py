from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from ops_console.two_factor import urlpatterns as two_factor_urls
from public_api.api import api
from public_api.notification_webhooks import urlpatterns as notification_webhook_urls
from public_api.onfleet_webhooks import urlpatterns as onfleet_webhook_urls
from public_api.webhooks import urlpatterns as webhook_urls

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    *two_factor_urls,
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    *webhook_urls,
    *notification_webhook_urls,
    *onfleet_webhook_urls,
]
