"""Private document storage (django-storages): write by our own random key, read through short-lived URLs.

Local folder by default (served only by a signed, expiring view); S3 when AWS_STORAGE_BUCKET_NAME is set
(presigned URLs). No ORM here: keys, file objects and URLs in and out.
"""

from core.integrations.storage.private import (
    SignedFile,
    delete,
    new_key,
    open_file,
    read_signed_token,
    save,
    signed_url,
)

__all__ = ["SignedFile", "delete", "new_key", "open_file", "read_signed_token", "save", "signed_url"]
