"""ACORD 25 extraction on the generated corpus: accuracy per kind, confidence, and manual review fallbacks."""

import pytest

from core.documents.extraction import FIELDS, Kind, extract_acord25
from tests.core.documents import acord_corpus as corpus


def accuracy(render, mime="application/pdf", names=None) -> tuple[float, list]:
    misses, total = [], 0
    for name, cert in corpus.variants().items():
        if names and name not in names:
            continue
        result = extract_acord25(render(cert), mime)
        expected = corpus.expected(cert)
        for field in FIELDS:
            total += 1
            if result.value(field) != expected[field]:
                misses.append((name, field, result.value(field), expected[field]))
    return 1 - len(misses) / total, misses


@pytest.mark.parametrize("naming", ["acord2016", "legacy"])
def test_fillable_certificates_are_read_from_their_form_fields(naming):
    score, misses = accuracy(lambda cert: corpus.render_fillable(cert, naming=naming))
    assert score >= 0.98, misses
    result = extract_acord25(corpus.render_fillable(corpus.Certificate(), naming=naming), "application/pdf")
    assert result.kind == Kind.FILLABLE and not result.needs_review
    assert min(f.confidence for f in result.fields.values()) >= 0.95


def test_flattened_certificates_are_read_by_label_position():
    score, misses = accuracy(corpus.render_flattened)
    assert score >= 0.98, misses
    result = extract_acord25(corpus.render_flattened(corpus.Certificate()), "application/pdf")
    assert result.kind == Kind.FLATTENED and not result.needs_review


def test_scanned_certificates_are_read_by_ocr():
    score, misses = accuracy(corpus.render_scan, names={"good", "other_values"})
    assert score >= 0.85, misses
    result = extract_acord25(corpus.render_scan(corpus.Certificate()), "application/pdf")
    assert result.kind == Kind.SCAN
    assert all(0 <= f.confidence <= 1 for f in result.fields.values())


def test_photographed_certificate_jpeg_is_read_by_ocr():
    cert = corpus.variants()["low_limit"]
    result = extract_acord25(corpus.render_scan(cert, as_pdf=False, seed=3), "image/jpeg")
    expected = corpus.expected(cert)
    right = sum(result.value(f) == expected[f] for f in FIELDS)
    assert result.kind == Kind.SCAN and right / len(FIELDS) >= 0.85


def test_without_tesseract_a_scan_goes_to_manual_review_with_the_reason(monkeypatch):
    import pytesseract

    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    result = extract_acord25(corpus.render_scan(corpus.Certificate()), "application/pdf")
    assert result.needs_review and "OCR (Tesseract) is not installed" in result.reason
    assert result.fields == {}


@pytest.mark.parametrize("data", [b"%PDF-1.7 not really", b"\x89PNG\r\n\x1a\n broken"])
def test_unreadable_input_never_raises(data):
    result = extract_acord25(data, "application/pdf" if data.startswith(b"%PDF") else "image/png")
    assert result.needs_review and result.reason


def test_a_certificate_without_essential_fields_asks_for_review():
    from tests.core.documents.attack_corpus import pdf_bytes

    result = extract_acord25(pdf_bytes(text="Lorem ipsum " * 20), "application/pdf")
    assert result.needs_review
    assert "holder name not found" in result.review_reasons()
