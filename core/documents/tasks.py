"""Huey wrappers for documents: thin, idempotent (load by id, call a service); periodic ones locked."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task, on_commit_task

from core.common.audit import acting_as


@on_commit_task(retries=2, retry_delay=60)
def extract_coi(coi_id: str) -> bool:
    """After an uploaded certificate commits: read its fields and validate them (re-running re-reads)."""
    from core.documents.models import COI
    from core.documents.services import coi_extract

    coi = COI.objects.select_related("document", "booking", "building").filter(pk=coi_id).first()
    if coi is None or coi.document.deleted_at is not None:
        return False
    with acting_as(None, user_agent="huey:extract_coi"):
        coi_extract(coi=coi)
    return True


@db_periodic_task(crontab(hour="6", minute="15"))
@lock_task("documents-daily")
def documents_daily() -> dict:
    """Daily: expire certificates (re-closing the gate, flagging staff), remind customers, purge old files."""
    from core.documents.services import coi_mark_expired, coi_send_reminders, documents_purge_expired

    with acting_as(None, user_agent="huey:documents_daily"):
        return {"expired": coi_mark_expired(), "reminded": coi_send_reminders(),
                "purged": documents_purge_expired()}
