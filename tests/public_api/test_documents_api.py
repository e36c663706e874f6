"""POST/GET bookings/{id}/documents/ and the download redirect, with the upload attack corpus."""

import datetime as dt
import hashlib
import uuid

import pytest
from django.test import override_settings
from django.utils import timezone

from core.documents.models import COI, Document, DocumentAccess
from tests.core.documents import attack_corpus as corpus
from tests.fakes.documents_fixtures import stored_files

BOUNDARY = "----tt-test-boundary"


def multipart(content: bytes, filename: str, **fields) -> bytes:
    """A raw multipart body: the test client would strip the very file names we want to send."""
    parts = []
    for name, value in fields.items():
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f"Content-Type: application/pdf\r\n\r\n".encode("utf-8", "surrogateescape") + content + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


@pytest.fixture
def booking(client, payload):
    response = client.post("/api/v1/bookings/", payload(), content_type="application/json")
    assert response.status_code == 201, response.json()
    body = response.json()
    return {"id": body["id"], "token": body["access_token"]}


@pytest.fixture
def upload(client, booking, private_storage):
    def _upload(content: bytes, filename: str = "certificate.pdf", *, document_type="building_requirements",
                token=None, booking_id=None, **fields):
        return client.generic(
            "POST", f"/api/v1/bookings/{booking_id or booking['id']}/documents/",
            multipart(content, filename, document_type=document_type, **fields),
            content_type=f"multipart/form-data; boundary={BOUNDARY}",
            headers={"X-Booking-Token": token or booking["token"]},
        )

    return _upload


def test_upload_stores_privately_and_dedupes_by_hash(upload, private_storage, booking, client):
    content = corpus.pdf_bytes()
    first = upload(content, "Building rules.pdf")
    again = upload(content, "renamed copy.pdf")

    assert first.status_code == 201, first.json()
    body = first.json()
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["mime_type"] == "application/pdf" and body["size"] == len(content)
    assert body["original_filename"] == "Building rules.pdf" and body["status"] == "received"
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    [stored] = stored_files(private_storage)
    assert "Building" not in str(stored) and stored.read_bytes() == content
    listed = client.get(f"/api/v1/bookings/{booking['id']}/documents/",
                        headers={"X-Booking-Token": booking["token"]})
    assert [d["id"] for d in listed.json()] == [body["id"]]


def test_coi_upload_creates_a_pending_certificate(upload):
    response = upload(corpus.pdf_bytes(), "coi.pdf", document_type="coi", building="pickup")
    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    assert COI.objects.get(document_id=response.json()["id"]).status == "pending"


def test_heic_photo_is_kept_as_jpeg(upload, private_storage):
    response = upload(corpus.heic_bytes(), "IMG_0001.HEIC")
    assert response.status_code == 201, response.json()
    assert response.json()["mime_type"] == "image/jpeg"
    assert response.json()["original_filename"] == "IMG_0001.jpg"
    [stored] = stored_files(private_storage)
    assert stored.read_bytes()[:3] == b"\xff\xd8\xff"


ATTACKS = {
    "renamed zip": (corpus.zip_bytes, "invoice.pdf", 415, "unsupported_file_type", None),
    "renamed html": (corpus.html_renamed, "certificate.pdf", 415, "unsupported_file_type", None),
    "pdf/html polyglot": (corpus.pdf_with_markup, "coi.pdf", 422, "invalid_document", "polyglot"),
    "jpeg/pdf polyglot": (corpus.jpeg_with_appended_pdf, "photo.jpg", 422, "invalid_document", "polyglot"),
    "pdf/zip polyglot": (corpus.pdf_with_appended_zip, "coi.pdf", 422, "invalid_document", "polyglot"),
    "thousands of pages": (corpus.thousands_of_pages_pdf, "big.pdf", 422, "invalid_document", "too_many_pages"),
    "nested objects": (corpus.nested_objects_pdf, "deep.pdf", 422, "invalid_document", "too_deep"),
    "many objects": (corpus.many_objects_pdf, "many.pdf", 422, "invalid_document", "too_many_objects"),
    "decompression bomb png": (corpus.decompression_bomb_png, "scan.png", 422, "invalid_document", "too_many_pixels"),
    "encrypted pdf": (corpus.encrypted_pdf, "locked.pdf", 422, "invalid_document", "encrypted"),
    "malformed pdf": (corpus.malformed_pdf, "broken.pdf", 422, "invalid_document", "malformed"),
    "path traversal name": (corpus.pdf_bytes, "../../etc/passwd.pdf", 422, "validation_error", None),
    "windows traversal name": (corpus.pdf_bytes, "..\\..\\boot.ini.pdf", 422, "validation_error", None),
    "control characters in name": (corpus.pdf_bytes, "inv\x07oice\x1b[2J.pdf", 422, "validation_error", None),
    "empty file": (lambda: b"", "empty.pdf", 422, "validation_error", None),
}


@pytest.mark.parametrize("case", ATTACKS, ids=list(ATTACKS))
def test_upload_attack_corpus_is_refused_and_nothing_is_stored(upload, private_storage, case):
    make, filename, status, code, reason = ATTACKS[case]
    response = upload(make(), filename, document_type="coi")
    assert response.status_code == status, response.content[:300]
    assert response.json()["error"]["code"] == code
    if reason:
        assert response.json()["error"]["fields"]["reason"] == [reason]
    assert Document.objects.count() == 0 and COI.objects.count() == 0
    assert stored_files(private_storage) == []


@override_settings()
def test_oversize_is_refused_with_413_before_the_body_is_read(upload, private_storage, settings):
    settings.DOCUMENTS = {**settings.DOCUMENTS, "MAX_UPLOAD_BYTES": 1024 * 1024}
    big = b"%PDF-1.7\n" + b"0" * (2 * 1024 * 1024)
    response = upload(big, "huge.pdf")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    assert Document.objects.count() == 0 and stored_files(private_storage) == []


def test_another_bookings_token_sees_and_stores_nothing(upload, client, payload, booking, private_storage):
    other = client.post("/api/v1/bookings/", payload(customer={"name": "Other Person", "email": "o@example.com",
                                                                 "phone": "+12125550199"}),
                        content_type="application/json").json()
    mine = upload(corpus.pdf_bytes(), "mine.pdf").json()

    refused = upload(corpus.pdf_bytes(text="other"), "x.pdf", token=other["access_token"])
    listed = client.get(f"/api/v1/bookings/{other['id']}/documents/",
                        headers={"X-Booking-Token": other["access_token"]})
    download = client.get(f"/api/v1/bookings/{other['id']}/documents/{mine['id']}/download/",
                          headers={"X-Booking-Token": other["access_token"]})

    assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
    assert listed.json() == [] and download.status_code == 404
    assert Document.objects.count() == 1 and len(stored_files(private_storage)) == 1


def test_missing_file_and_unknown_type_are_422(client, booking, private_storage, upload):
    response = upload(corpus.pdf_bytes(), "a.pdf", document_type="passport")
    assert response.status_code == 422
    assert "document_type" in response.json()["error"]["fields"]


def test_download_redirects_to_a_signed_expiring_url_and_audits(upload, client, booking, time_machine):
    content = corpus.pdf_bytes()
    document = upload(content, "rules.pdf").json()
    url = f"/api/v1/bookings/{booking['id']}/documents/{document['id']}/download/"

    response = client.get(url, headers={"X-Booking-Token": booking["token"]})

    assert response.status_code == 302
    served = client.get(response["Location"])
    assert served.status_code == 200
    assert served["Content-Disposition"].startswith("attachment")
    assert b"".join(served.streaming_content) == content
    assert "sandbox" in served["Content-Security-Policy"]
    access = DocumentAccess.objects.get()
    assert access.via == "token" and access.ip_address == "127.0.0.1"
    assert Document.objects.get().last_accessed_at is not None
    time_machine.move_to(timezone.now() + dt.timedelta(seconds=301))
    assert client.get(response["Location"]).status_code == 404
    assert client.get(response["Location"][:-5] + "xxxx/").status_code == 404


def test_download_of_unknown_document_is_404(client, booking, private_storage):
    response = client.get(f"/api/v1/bookings/{booking['id']}/documents/{uuid.uuid4()}/download/",
                          headers={"X-Booking-Token": booking["token"]})
    assert response.status_code == 404


def test_confirmation_lists_coi_needed_until_the_gate_passes(client, payload, building, certificate_for,
                                                             upload_certificate):
    from core.bookings.models import Booking
    from tests.core.documents import acord_corpus

    created = client.post("/api/v1/bookings/", payload(coi_required=True), content_type="application/json").json()
    confirm = f"/api/v1/bookings/{created['id']}/confirm/"
    steps = lambda: [s["code"] for s in client.get(confirm, HTTP_X_BOOKING_TOKEN=created["access_token"])  # noqa: E731
                     .json()["next_steps"]]
    assert "coi_needed" in steps()

    booking = Booking.objects.get(pk=created["id"])
    upload_certificate(booking, acord_corpus.render_flattened(certificate_for(booking)))

    assert "coi_needed" not in steps()
    listed = client.get(f"/api/v1/bookings/{created['id']}/documents/", HTTP_X_BOOKING_TOKEN=created["access_token"])
    assert [d["status"] for d in listed.json()] == ["valid"]  # the issued certificate, shown to the customer


def test_a_broken_or_non_multipart_body_is_422(client, booking, private_storage):
    url = f"/api/v1/bookings/{booking['id']}/documents/"
    broken = client.generic("POST", url, b"--x\r\nnot really multipart", content_type="multipart/form-data",
                            headers={"X-Booking-Token": booking["token"]})
    as_json = client.post(url, {"document_type": "coi"}, content_type="application/json",
                          headers={"X-Booking-Token": booking["token"]})
    assert broken.status_code == 422 and as_json.status_code == 422
    assert Document.objects.count() == 0


def test_the_list_is_a_fixed_number_of_queries(client, booking, upload, django_assert_max_num_queries):
    for n in range(3):
        upload(corpus.pdf_bytes(text=f"doc {n}"), f"doc{n}.pdf", document_type="coi" if n else "other")
    # the booking for the token check (+ its specialty-line prefetch), then its documents joined to their COIs
    with django_assert_max_num_queries(3):
        listed = client.get(f"/api/v1/bookings/{booking['id']}/documents/",
                            headers={"X-Booking-Token": booking["token"]})
    assert len(listed.json()) == 3
