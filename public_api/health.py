from django.db import connection
from ninja import Router, Status

from public_api.schemas import Schema

router = Router(tags=["health"])


class HealthOut(Schema):
    status: str
    database: str


class HealthErrorOut(Schema):
    error: dict


@router.get("", response={200: HealthOut, 503: HealthErrorOut}, summary="Liveness and database check")
def health(request):
    """200 only when the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any database failure means "not healthy"
        return Status(503, {"error": {"code": "database_unavailable", "message": "The database does not answer.",
                                      "fields": {}}})
    return Status(200, {"status": "ok", "database": connection.vendor})
