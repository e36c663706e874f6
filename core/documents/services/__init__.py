"""Every write to documents, one module per concern; import from here."""

from core.documents.services.uploads import (
    CUSTOMER_TYPES,
    coi_create_for,
    document_download_url,
    document_purge,
    document_soft_delete,
    document_upload,
)

__all__ = ["CUSTOMER_TYPES", "coi_create_for", "document_download_url", "document_purge",
           "document_soft_delete", "document_upload"]
