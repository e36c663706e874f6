from django.db import connection
from ninja import Router, Status

from core.common.errors import ErrorCode
from public_api.errors import error_body
from public_api.schemas import ErrorOut, Schema

router = Router(tags=["health"])


class HealthOut(Schema):
    status: str
    database: str


@router.get("", response={200: HealthOut, 503: ErrorOut}, summary="Liveness and database check")
def health(request):
    """200 only when the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any database failure means "not healthy"
        return Status(503, error_body(ErrorCode.DATABASE_UNAVAILABLE, "The database does not answer."))
    return Status(200, {"status": "ok", "database": connection.vendor})
