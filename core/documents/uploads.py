"""Reading a multipart upload strictly: oversized bodies refused early (413), path-like names refused (422)."""

from __future__ import annotations

import html

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http.multipartparser import MultiPartParser

from core.documents.errors import FileTooLarge

# multipart framing and the small form fields around the file
_ENVELOPE_SLACK = 64 * 1024


def too_large(max_bytes: int) -> FileTooLarge:
    mb = max_bytes // (1024 * 1024)
    return FileTooLarge(f"The file is larger than {mb} MB.", fields={"file": [f"Send a file under {mb} MB."]})


class SizeLimitUploadHandler(FileUploadHandler):
    """First in the chain: a declared Content-Length over the limit is refused before any byte is read, and a
    body that lies about its length is cut off at the limit while streaming."""

    def __init__(self, request=None, max_bytes: int | None = None):
        super().__init__(request)
        self.max_bytes = max_bytes or int(settings.DOCUMENTS["MAX_UPLOAD_BYTES"])
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.max_bytes + _ENVELOPE_SLACK:
            raise too_large(self.max_bytes)

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            raise too_large(self.max_bytes)
        return raw_data

    def file_complete(self, file_size):
        return None


class StrictNameMultiPartParser(MultiPartParser):
    """Django quietly strips folders and control characters from upload names; we refuse such names instead
    (a name that tries to be a path is an attack or a broken client, and says so with a clear 422)."""

    def sanitize_file_name(self, file_name):
        from core.documents.inspection import clean_filename

        clean_filename(html.unescape(file_name))
        return super().sanitize_file_name(file_name)


def prepare_upload_request(request, *, max_bytes: int | None = None) -> None:
    """Call before touching request.FILES/POST: installs the size limit and the strict name check."""
    request.upload_handlers.insert(0, SizeLimitUploadHandler(request, max_bytes))

    def parse_file_upload(META, post_data):
        return StrictNameMultiPartParser(META, post_data, request.upload_handlers, request.encoding).parse()

    request.parse_file_upload = parse_file_upload
