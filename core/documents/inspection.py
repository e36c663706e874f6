"""What an uploaded file really is, decided from its bytes: type, size, hash, and bounded structural checks.

Nothing here trusts the client's name or Content-Type. Every refusal is a DomainError with a stable code;
parsers run on a file object (an upload spilled to disk), never on a copy of the whole body in memory.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import IO

import filetype
from django.conf import settings
from PIL import Image, UnidentifiedImageError

from core.documents.errors import DocumentValidationError, InvalidDocument, UnsupportedFileType
from core.documents.uploads import too_large

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
HEIC = "image/heic"
ACCEPTED = {PDF: ".pdf", JPEG: ".jpg", PNG: ".png", HEIC: ".heic"}
CHUNK = 64 * 1024
_MARKUP = re.compile(rb"<\s*(html|script|svg|body|iframe|!doctype|\?xml-stylesheet)", re.IGNORECASE)
_MAX_PDF_NESTING = 64


@dataclass(frozen=True)
class Inspected:
    mime_type: str
    size: int
    sha256: str
    pages: int | None = None
    pixels: int | None = None


def _refuse(reason: str, message: str) -> InvalidDocument:
    return InvalidDocument(message, fields={"file": [message], "reason": [reason]})


def clean_filename(name: str | None, *, mime_type: str | None = None) -> str:
    """The name to show: refused if it tries to be a path or hides control characters; never used as a path."""
    name = unicodedata.normalize("NFKC", name or "").strip()
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise DocumentValidationError("The file name contains control characters.",
                                      fields={"file": ["Rename the file without control characters."]})
    if "/" in name or "\\" in name or name.startswith("."):
        raise DocumentValidationError("The file name looks like a path.",
                                      fields={"file": ["Rename the file: no folders or '..' in its name."]})
    stem = re.sub(r"[^\w\-. ()]+", "_", name.rsplit(".", 1)[0] if "." in name else name)[:100].strip(" ._")
    extension = ACCEPTED.get(mime_type or "", "")
    return f"{stem or 'document'}{extension}"


def _sha256_and_size(file: IO[bytes]) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    file.seek(0)
    while chunk := file.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    file.seek(0)
    return digest.hexdigest(), size


def _tail(file: IO[bytes], n: int) -> bytes:
    file.seek(0, 2)
    end = file.tell()
    file.seek(max(0, end - n))
    data = file.read()
    file.seek(0)
    return data


def inspect_upload(file: IO[bytes], *, max_bytes: int | None = None) -> Inspected:
    """Refuse anything that is not one bounded, well-formed PDF or image; return what it is."""
    max_bytes = max_bytes or int(settings.DOCUMENTS["MAX_UPLOAD_BYTES"])
    file.seek(0, 2)
    if file.tell() > max_bytes:
        raise too_large(max_bytes)
    if file.tell() == 0:
        raise DocumentValidationError("The file is empty.", fields={"file": ["The file is empty."]})
    file.seek(0)
    head = file.read(8192)
    file.seek(0)
    kind = filetype.guess(head)
    mime = kind.mime if kind else None
    if mime not in ACCEPTED:
        raise UnsupportedFileType("Send a PDF, JPEG, PNG or HEIC file.",
                                  fields={"file": ["Send a PDF, JPEG, PNG or HEIC file."]})
    if _MARKUP.search(head[:1024]):  # browsers sniff markup there: a file that is also a web page is refused
        raise _refuse("polyglot", "The file also contains web page markup.")
    sha256, size = _sha256_and_size(file)
    if mime == PDF:
        return Inspected(mime_type=mime, size=size, sha256=sha256, pages=inspect_pdf(file))
    return Inspected(mime_type=mime, size=size, sha256=sha256, pixels=inspect_image(file, mime))


def inspect_pdf(file: IO[bytes]) -> int:
    """Bounded structural checks; returns the page count."""
    from pypdf import PdfReader

    tail = _tail(file, 2048)
    eof = tail.rfind(b"%%EOF")
    if eof == -1:
        raise _refuse("malformed", "The PDF is damaged (no end marker).")
    if tail[eof + 5:].strip(b" \t\r\n\x00\x0c"):  # another format appended (PDF+ZIP/HTML polyglots)
        raise _refuse("polyglot", "The PDF has data of another kind appended to it.")
    limits = settings.DOCUMENTS
    try:
        reader = PdfReader(file, strict=False)
        if reader.is_encrypted:
            raise _refuse("encrypted", "The PDF is password-protected; send it without a password.")
        object_ids = {i for table in reader.xref.values() for i in table} | set(reader.xref_objStm)
        if len(object_ids) > int(limits["MAX_PDF_OBJECTS"]):
            raise _refuse("too_many_objects", "The PDF is too complex to accept.")
        declared = reader.trailer["/Root"]["/Pages"].get("/Count", 0)
        if int(declared) > int(limits["MAX_PDF_PAGES"]):
            raise _refuse("too_many_pages", f"The PDF has more than {limits['MAX_PDF_PAGES']} pages.")
        for idnum in object_ids:
            _check_nesting(reader, idnum)
        pages = len(reader.pages)
    except InvalidDocument:
        raise
    except RecursionError as exc:
        raise _refuse("too_deep", "The PDF is nested too deeply to accept.") from exc
    except Exception as exc:  # pypdf raises many types for damaged files; all mean "refuse"
        raise _refuse("malformed", "The PDF is damaged and cannot be read.") from exc
    finally:
        file.seek(0)
    if pages == 0 or pages > int(limits["MAX_PDF_PAGES"]):
        raise _refuse("too_many_pages", "The PDF has no pages or too many.")
    return pages


def _check_nesting(reader, idnum: int) -> None:
    """Walk one object's direct contents (iteratively) and refuse absurd nesting."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    generation = next((g for g, table in reader.xref.items() if idnum in table), 0)
    obj = reader.get_object(IndirectObject(idnum, generation, reader))
    stack = [(obj, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > _MAX_PDF_NESTING:
            raise _refuse("too_deep", "The PDF is nested too deeply to accept.")
        if isinstance(node, DictionaryObject):
            stack.extend((v, depth + 1) for v in node.values() if not isinstance(v, IndirectObject))
        elif isinstance(node, ArrayObject):
            stack.extend((v, depth + 1) for v in node if not isinstance(v, IndirectObject))


def open_image(file: IO[bytes], mime: str) -> Image.Image:
    if mime == HEIC:
        from pillow_heif import register_heif_opener

        register_heif_opener()
    file.seek(0)
    return Image.open(file, formats=[{JPEG: "JPEG", PNG: "PNG", HEIC: "HEIF"}[mime]])


def inspect_image(file: IO[bytes], mime: str) -> int:
    """Pixel limit from the header before any decoding (decompression bombs), then a full verify."""
    limit = int(settings.DOCUMENTS["MAX_IMAGE_PIXELS"])
    try:
        image = open_image(file, mime)
        pixels = image.width * image.height
        if pixels > limit:
            raise _refuse("too_many_pixels", f"The image is too large ({image.width}×{image.height} pixels).")
        if mime != HEIC:
            image.verify()
    except InvalidDocument:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _refuse("too_many_pixels", "The image is too large.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _refuse("malformed", "The image is damaged and cannot be read.") from exc
    finally:
        file.seek(0)
    _check_image_end(file, mime)
    return pixels


def _check_image_end(file: IO[bytes], mime: str) -> None:
    """An image followed by another file (image+PDF/ZIP polyglots) is refused."""
    tail = _tail(file, 64)
    if mime == PNG and not tail.endswith(b"IEND\xaeB`\x82"):
        raise _refuse("polyglot", "The image has data of another kind appended to it.")
    if mime == JPEG and not tail.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise _refuse("polyglot", "The image has data of another kind appended to it.")
