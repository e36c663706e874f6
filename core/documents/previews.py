"""Page images of stored documents for the review desk: the console never embeds the PDF itself (no active
content in an admin page, and browsers refuse PDFs in sandboxed frames); it shows a PNG of each page."""

from __future__ import annotations

import io

from core.documents.inspection import HEIC, PDF, open_image
from core.integrations import storage

PREVIEW_WIDTH = 1100  # pixels: readable certificate text, ~150 dpi for a letter page
MAX_PREVIEW_PAGES = 5


def page_count(document) -> int:
    if document.mime_type != PDF:
        return 1
    import pypdfium2

    with storage.open_file(document.storage_key) as handle:
        return min(len(pypdfium2.PdfDocument(handle.read())), MAX_PREVIEW_PAGES)


def page_png(document, page: int = 0) -> bytes:
    """PNG of one page (PDF) or of the image itself, at most PREVIEW_WIDTH wide."""
    with storage.open_file(document.storage_key) as handle:
        data = handle.read()
    if document.mime_type == PDF:
        import pypdfium2

        pdf = pypdfium2.PdfDocument(data)
        if not 0 <= page < min(len(pdf), MAX_PREVIEW_PAGES):
            raise IndexError(page)
        width = pdf[page].get_width()
        image = pdf[page].render(scale=PREVIEW_WIDTH / width).to_pil()
    else:
        if page != 0:
            raise IndexError(page)
        image = open_image(io.BytesIO(data), HEIC if document.mime_type == HEIC else document.mime_type)
        image.thumbnail((PREVIEW_WIDTH, PREVIEW_WIDTH * 2))
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG", optimize=False)
    return out.getvalue()
