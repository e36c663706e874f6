"""Hostile and broken uploads, generated in the test run (no binary fixtures in the repository)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib


def pdf_bytes(pages: int = 1, text: str = "Certificate of insurance") -> bytes:
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=letter)
    for n in range(pages):
        c.drawString(72, 720, f"{text} — page {n + 1}")
        c.showPage()
    c.save()
    return out.getvalue()


def raw_pdf(objects: list[bytes]) -> bytes:
    """A hand-assembled PDF (object 1 = catalog) with a correct xref table, for structures no library makes."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _one_page(extra: list[bytes] = ()) -> list[bytes]:
    return [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>", *extra]


def thousands_of_pages_pdf(pages: int = 5000) -> bytes:
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(pages))
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                    b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages] + [page] * pages)


def nested_objects_pdf(depth: int = 5000) -> bytes:
    return raw_pdf(_one_page([b"[" * depth + b"]" * depth]))


def many_objects_pdf(count: int = 30000) -> bytes:
    return raw_pdf(_one_page([b"%d" % i for i in range(count)]))


def encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes())))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def malformed_pdf() -> bytes:
    return b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R\nthis is not a pdf\n%%EOF\n"


def png_bytes(width: int = 40, height: int = 30) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(width: int = 40, height: int = 30) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, format="JPEG")
    return out.getvalue()


def decompression_bomb_png(side: int = 20000) -> bytes:
    """A real, complete 1-bit PNG of side×side pixels (400 Mpx for 20000): tiny on disk, huge decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.exe", b"MZ" + b"\x00" * 100)
    return out.getvalue()


def html_renamed() -> bytes:
    return b"<!doctype html><html><script>alert(document.cookie)</script></html>"


def pdf_with_markup() -> bytes:
    """Starts as a PDF, but a browser sniffing the first bytes sees a web page (PDF/HTML polyglot)."""
    body = pdf_bytes()
    return body[:9] + b"%<html><script>alert(1)</script>\n" + body[9:]


def jpeg_with_appended_pdf() -> bytes:
    """A valid JPEG followed by a whole PDF (JPEG/PDF polyglot)."""
    return jpeg_bytes() + pdf_bytes()


def pdf_with_appended_zip() -> bytes:
    return pdf_bytes() + zip_bytes()


def heic_bytes() -> bytes:
    from PIL import Image
    from pillow_heif import register_heif_opener

    register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "white").save(out, format="HEIF")
    return out.getvalue()
