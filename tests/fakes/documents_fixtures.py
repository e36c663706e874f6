"""Document fixtures: private storage (a temporary folder, or a real S3 endpoint on a moto server), a building
with COI requirements, a booking at it, and certificates from the generated ACORD corpus."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone


@pytest.fixture
def private_storage(settings, tmp_path):
    """The "documents" storage in a fresh folder; yields that folder (to assert what was stored)."""
    root = tmp_path / "private"
    root.mkdir()
    settings.STORAGES = {**settings.STORAGES, "documents": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(root), "base_url": None},
    }}
    settings.DOCUMENTS = {**settings.DOCUMENTS, "PRIVATE_ROOT": str(root)}
    return root


def stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.fixture(scope="session")
def moto_s3_endpoint():
    """moto in server mode on 127.0.0.1: a real S3 wire endpoint (presigned URLs and all)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_storage(settings, moto_s3_endpoint, monkeypatch):
    """The "documents" storage on a fresh bucket of the moto server; yields a boto3 client on it."""
    import uuid

    import boto3

    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    bucket = f"docs-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=moto_s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    settings.STORAGES = {**settings.STORAGES, "documents": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": bucket, "endpoint_url": moto_s3_endpoint, "region_name": "us-east-1",
                    "default_acl": None, "querystring_auth": True, "location": "documents",
                    "file_overwrite": False, "querystring_expire": 300},
    }}
    client.bucket = bucket
    return client


@pytest.fixture
def building(db):
    """The Beresford-like building at the factories' pickup address (written differently on purpose)."""
    from core.documents.models import Building
    from core.documents.services import building_save

    return building_save(building=Building(
        name="The Beresford", line1="245 E. 72nd St", city="New York", state="NY", zip_code="10021-4402",
        holder_name="Board of Managers of the Beresford Condominium", holder_address="211 Central Park West, "
        "New York, NY 10024", additional_insureds=["Beresford Management, L.L.C."],
        min_general_each_occurrence=Decimal("1000000"), min_umbrella=Decimal("5000000"),
        requires_waiver_of_subrogation=True, max_certificate_age_days=60))


@pytest.fixture
def coi_booking(make_request, building):
    from core.bookings.services import booking_create

    booking, _token = booking_create(request=make_request(coi_required=True))
    return booking


@pytest.fixture
def certificate_for():
    """An ACORD 25 (variant of the corpus) whose dates fit the booking's move date."""
    from tests.core.documents import acord_corpus

    def _make(booking, variant="good", **changes):
        cert = acord_corpus.variants()[variant]
        move = booking.pickup_date
        dates = {"effective_date": move - dt.timedelta(days=200), "expiration_date": move + dt.timedelta(days=165),
                 "certificate_date": timezone.localdate() - dt.timedelta(days=5)}
        if variant == "expired":
            dates["expiration_date"] = move - dt.timedelta(days=2)
        return dataclasses.replace(cert, **{**dates, **changes})

    return _make


@pytest.fixture
def upload_certificate(private_storage, django_capture_on_commit_callbacks):
    """Staff upload of a certificate PDF; extraction and validation run as the after-commit task does."""
    import io

    from core.documents.models import UploadSource
    from core.documents.services import document_upload

    def _upload(booking, pdf: bytes, *, role="pickup", actor=None, name="coi.pdf"):
        with django_capture_on_commit_callbacks(execute=True):
            document, _created = document_upload(file=io.BytesIO(pdf), filename=name, document_type="coi",
                                                 source=UploadSource.STAFF, booking=booking, building_role=role,
                                                 actor=actor)
        document.coi.refresh_from_db()
        return document.coi

    return _upload
