"""Every write to documents, one module per concern; import from here."""

from core.documents.services.buildings import building_save
from core.documents.services.coi import (
    coi_approve,
    coi_extract,
    coi_reject,
    coi_update_fields,
    coi_validate,
    coi_waive,
    coi_waive_building,
)
from core.documents.services.jobs import coi_mark_expired, coi_send_reminders, documents_purge_expired
from core.documents.services.uploads import (
    CUSTOMER_TYPES,
    coi_create_for,
    document_download_url,
    document_purge,
    document_soft_delete,
    document_upload,
)

__all__ = ["CUSTOMER_TYPES", "building_save", "coi_approve", "coi_create_for", "coi_extract", "coi_reject",
           "coi_mark_expired", "coi_send_reminders", "coi_update_fields", "coi_validate", "coi_waive",
           "coi_waive_building", "document_download_url", "document_purge", "document_soft_delete",
           "documents_purge_expired", "document_upload"]
