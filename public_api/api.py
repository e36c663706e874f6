"""The public booking API (`/api/v1/`): one NinjaAPI, one router per area."""

from ninja import NinjaAPI

from public_api import errors
from public_api.health import router as health_router

api = NinjaAPI(
    title="ToteTaxi booking API",
    version="1",
    description="Catalog, availability, quotes, bookings and payments for the ToteTaxi marketing site. "
    "Errors always use the body `{error: {code, message, fields}}`.",
    urls_namespace="api-v1",
)
errors.install(api)
api.add_router("/health/", health_router)
