"""The public booking API (`/api/v1/`): one NinjaAPI, one router per area."""

from ninja import NinjaAPI

from public_api import errors
from public_api.bookings import router as bookings_router
from public_api.catalog import router as catalog_router
from public_api.changes import router as changes_router
from public_api.health import router as health_router
from public_api.payments import router as payments_router

api = NinjaAPI(
    title="ToteTaxi booking API",
    version="1",
    description="Catalog, availability, quotes, bookings and payments for the ToteTaxi marketing site. "
    "Money is a string with two decimals (`\"995.00\"`); dates are New York service dates (`YYYY-MM-DD`). "
    "Errors always use the body `{error: {code, message, fields}}`: 422 `validation_error`, 404 for unknown "
    "things (and wrong or missing `X-Booking-Token`), 409 for state conflicts, 429 `rate_limited`.",
    urls_namespace="api-v1",
    docs_url="/docs",
)
errors.install(api)
api.add_router("/health/", health_router)
api.add_router("/services/", catalog_router)
# before bookings: its `{booking_id}/` would answer 405 to POST bookings/access-link/
api.add_router("/bookings/", changes_router)
api.add_router("/bookings/", bookings_router)
api.add_router("/payments/", payments_router)
