"""The public booking API (`/api/v1/`): one NinjaAPI, one router per area."""

from ninja import NinjaAPI

from core.common.errors import ErrorCode
from public_api import errors
from public_api.bookings import router as bookings_router
from public_api.catalog import router as catalog_router
from public_api.changes import router as changes_router
from public_api.documents import files_router as document_files_router
from public_api.documents import router as documents_router
from public_api.health import router as health_router
from public_api.payments import router as payments_router
from public_api.report_files import router as report_files_router
from public_api.tracking import router as tracking_router

DESCRIPTION = (
    "Catalog, availability, quotes, bookings and payments for the ToteTaxi marketing site. "
    "Money is a string with two decimals (`\"995.00\"`); dates are New York service dates (`YYYY-MM-DD`).\n\n"
    "## Errors\n\n"
    "Every error, on every path under `/api/v1/`, has the body `{error: {code, message, fields}}`: `message` is "
    "a sentence for a person, `fields` maps a field path (`customer.email`) to what is wrong with it (every "
    "field whose form is wrong, in one answer), and `code` is one of the codes below; codes never change meaning."
    "\n\n"
    + ErrorCode.markdown_table()
)


class BookingAPI(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        # Any route that reads a body can answer 413 (the body is over DATA_UPLOAD_MAX_MEMORY_SIZE): declared
        # here once rather than on every route.
        schema = super().get_openapi_schema(*args, **kwargs)
        for operations in schema["paths"].values():
            for operation in operations.values():
                # ninja keys responses by int: a route that declares its own 413 keeps it (a second, str "413"
                # key would be a duplicate key in the JSON, which Swagger UI refuses to render).
                if "requestBody" in operation and 413 not in operation["responses"]:
                    operation["responses"].setdefault("413", {
                        "description": "Payload Too Large",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
                    })
        return schema


api = BookingAPI(
    title="ToteTaxi booking API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    docs_url="/docs",
)
errors.install(api)
api.add_router("/health/", health_router)
api.add_router("/services/", catalog_router)
# before bookings: its `{booking_id}/` would answer 405 to POST bookings/access-link/
api.add_router("/bookings/", changes_router)
api.add_router("/bookings/", bookings_router)
api.add_router("/bookings/", documents_router)
api.add_router("/documents/", document_files_router)
api.add_router("/reports/", report_files_router)
api.add_router("/payments/", payments_router)
api.add_router("/bookings/", tracking_router)
