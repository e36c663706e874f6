"""Huey wrappers for documents: thin, idempotent (load by id, call a service); periodic ones locked."""

from __future__ import annotations

from huey.contrib.djhuey import on_commit_task

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
