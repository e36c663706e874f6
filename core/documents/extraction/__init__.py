"""ACORD 25 extraction, pure: bytes in, ExtractionResult (typed values with per-field confidence) out.

A filled AcroForm is read from its fields; a PDF with a text layer from its positioned words (pdfplumber);
anything else (image-only PDFs, photos) through Tesseract OCR. Without Tesseract, or when the reader is not
sure of the essential fields, the result asks for manual review and says why; it never raises on bad input.
"""

from __future__ import annotations

import io
import logging
import shutil

from core.documents.extraction.layout import Word, read_page
from core.documents.extraction.types import (
    ESSENTIAL,
    FIELDS,
    ExtractedField,
    ExtractionResult,
    Kind,
)

logger = logging.getLogger(__name__)

OCR_DPI = 200
PAGE_WIDTH = 612.0  # letter, in points: OCR pixels are scaled onto it

__all__ = ["ESSENTIAL", "FIELDS", "ExtractedField", "ExtractionResult", "Kind", "extract_acord25",
           "tesseract_available"]


def tesseract_available() -> bool:
    import pytesseract

    return shutil.which(pytesseract.pytesseract.tesseract_cmd) is not None


def extract_acord25(data: bytes, mime_type: str) -> ExtractionResult:
    try:
        if mime_type == "application/pdf":
            return _from_pdf(data)
        return _from_image_bytes(data)
    except Exception as exc:  # a certificate we cannot read goes to a person, with the reason
        logger.warning("acord25 extraction failed", exc_info=True)
        return ExtractionResult(kind=Kind.SCAN if mime_type != "application/pdf" else Kind.FLATTENED,
                                reason=f"The certificate could not be read automatically ({type(exc).__name__}).")


def _from_pdf(data: bytes) -> ExtractionResult:
    import pdfplumber
    from pypdf import PdfReader

    from core.documents.extraction.fillable import read_form_fields

    filled = read_form_fields(PdfReader(io.BytesIO(data)))
    if filled is not None:
        return filled
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        page = pdf.pages[0]
        words = [Word(w["text"], w["x0"], w["x1"], w["top"], w["bottom"])
                 for w in page.extract_words(keep_blank_chars=False, use_text_flow=False)]
        scale = PAGE_WIDTH / float(page.width)
    if len(words) >= 20:
        words = [Word(w.text, w.x0 * scale, w.x1 * scale, w.top * scale, w.bottom * scale) for w in words]
        return read_page(words, kind=Kind.FLATTENED, certain=0.97)
    if not tesseract_available():
        return _no_ocr()
    import pypdfium2

    image = pypdfium2.PdfDocument(data)[0].render(scale=OCR_DPI / 72).to_pil()
    return _ocr(image)


def _from_image_bytes(data: bytes) -> ExtractionResult:
    if not tesseract_available():
        return _no_ocr()
    from PIL import Image, ImageOps
    from pillow_heif import register_heif_opener

    register_heif_opener()
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    return _ocr(image)


def _no_ocr() -> ExtractionResult:
    return ExtractionResult(kind=Kind.SCAN, reason="This is a scan or photo and OCR (Tesseract) is not installed "
                                                    "on this server: read it and enter the fields by hand.")


def _ocr(image) -> ExtractionResult:
    import pytesseract
    from PIL import ImageOps

    gray = ImageOps.autocontrast(image.convert("L"))
    if gray.width < 1200:  # small photos: Tesseract wants ~10 pt text at 20+ px high (about 200 dpi)
        factor = 1700 / gray.width
        gray = gray.resize((int(gray.width * factor), int(gray.height * factor)))
    data = pytesseract.image_to_data(gray, output_type=pytesseract.Output.DICT, config="--psm 11")
    scale = PAGE_WIDTH / gray.width
    words = [
        Word(text, left * scale, (left + width) * scale, top * scale, (top + height) * scale, float(conf))
        for text, left, top, width, height, conf in zip(data["text"], data["left"], data["top"], data["width"],
                                                        data["height"], data["conf"], strict=True)
        if text.strip() and float(conf) >= 0
    ]
    return read_page(words, kind=Kind.SCAN, certain=1.0)
