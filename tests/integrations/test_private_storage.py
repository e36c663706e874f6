"""core.integrations.storage against a real S3 endpoint (moto server on 127.0.0.1) and the local signed view."""

import io
import urllib.parse

import requests

from core.integrations import storage


def test_s3_stores_by_key_and_hands_out_presigned_attachment_urls(s3_storage):
    key = storage.new_key("documents")
    storage.save(key, io.BytesIO(b"%PDF-1.7 hello"), content_type="application/pdf")

    url = storage.signed_url(key, filename="rules.pdf", content_type="application/pdf", ttl=120)

    listed = s3_storage.list_objects_v2(Bucket=s3_storage.bucket)["Contents"]
    assert [o["Key"] for o in listed] == [f"documents/{key}"]
    head = s3_storage.head_object(Bucket=s3_storage.bucket, Key=f"documents/{key}")
    assert head["ContentType"] == "application/pdf"
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query.get("X-Amz-Expires") == ["120"] or query.get("Expires")
    fetched = requests.get(url, timeout=10)
    assert fetched.status_code == 200 and fetched.content == b"%PDF-1.7 hello"
    assert fetched.headers["Content-Disposition"].startswith("attachment")
    unsigned = url.split("?")[0]
    assert requests.get(unsigned, timeout=10).status_code == 403


def test_s3_objects_are_private(s3_storage):
    key = storage.new_key("documents")
    storage.save(key, io.BytesIO(b"secret"), content_type="application/pdf")
    acl = s3_storage.get_object_acl(Bucket=s3_storage.bucket, Key=f"documents/{key}")
    assert all(g["Grantee"].get("URI", "").endswith("AllUsers") is False for g in acl["Grants"])


def test_local_signed_url_refuses_tampering_and_expiry(private_storage, client, time_machine):
    key = storage.new_key("documents")
    storage.save(key, io.BytesIO(b"%PDF-1.7 local"), content_type="application/pdf")
    time_machine.move_to("2030-01-01 12:00:00Z")
    url = storage.signed_url(key, filename="a.pdf", content_type="application/pdf", ttl=60)

    assert client.get(url).status_code == 200
    payload, signature = url.rstrip("/").rsplit(":", 1)
    forged = f"{payload}:{'A' if signature[0] != 'A' else 'B'}{signature[1:]}/"
    assert client.get(forged).status_code == 404
    time_machine.move_to("2030-01-01 12:01:01Z")
    assert client.get(url).status_code == 404


def test_an_uploaded_document_lands_on_s3_and_downloads_through_a_presigned_url(s3_storage, db):
    from core.documents.services import document_download_url, document_upload
    from tests.core.documents.attack_corpus import pdf_bytes

    content = pdf_bytes()
    document, created = document_upload(file=io.BytesIO(content), filename="rules.pdf", document_type="other",
                                         source="staff")
    url = document_download_url(document=document, via="staff")

    assert created and url.startswith("http://127.0.0.1")
    stored = s3_storage.get_object(Bucket=s3_storage.bucket, Key=f"documents/{document.storage_key}")
    assert stored["Body"].read() == content and stored["ContentType"] == "application/pdf"
    assert requests.get(url, timeout=10).content == content
