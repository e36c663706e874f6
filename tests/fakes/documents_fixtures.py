"""Private document storage for tests: a temporary local folder, or a real S3 endpoint (moto server)."""

from __future__ import annotations

import pytest


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
