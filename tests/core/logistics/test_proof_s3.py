"""Proof of delivery on S3 (moto in server mode on 127.0.0.1): stored with its digest, shown to staff through
a presigned URL that expires."""

import hashlib
import time
import urllib.parse

import boto3
import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from moto.server import ThreadedMotoServer

from core.logistics.models import LegKind, ProofOfDelivery
from core.logistics.proof import proof_archive
from tests.core.logistics.conftest import legs_of, task_ids

pytestmark = pytest.mark.django_db
BUCKET = "tt-proof-test"


@pytest.fixture
def s3(settings, monkeypatch):
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": BUCKET, "endpoint_url": endpoint, "region_name": "us-east-1", "default_acl": None,
                    "querystring_auth": True, "querystring_expire": 600}}}
    yield client
    server.stop()


def test_completion_proof_is_archived_to_s3_and_served_presigned(onfleet, dispatched, s3, client, staff):
    _pickup_id, dropoff_id = task_ids(dispatched)
    onfleet.complete(dropoff_id, photos=1, signature=True)
    dropoff = legs_of(dispatched)[LegKind.DROPOFF]

    assert proof_archive(leg_id=dropoff.pk) == 2
    assert proof_archive(leg_id=dropoff.pk) == 0  # once

    for proof in ProofOfDelivery.objects.filter(delivery_task=dropoff):
        stored = s3.get_object(Bucket=BUCKET, Key=proof.file.name)["Body"].read()
        assert stored == onfleet.uploads[proof.onfleet_upload_id]
        assert proof.sha256 == hashlib.sha256(stored).hexdigest()
    proof = ProofOfDelivery.objects.filter(delivery_task=dropoff).first()
    url = reverse("admin:core_deliverytask_proof", args=[proof.pk])
    client.force_login(staff)
    assert client.get(url).status_code == 403  # staff without the permission
    staff.user_permissions.add(Permission.objects.get(codename="view_proofofdelivery"))
    response = client.get(url)
    assert response.status_code == 302
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(response["Location"]).query)
    assert response["Location"].startswith(f"{s3.meta.endpoint_url}/{BUCKET}/proof-of-delivery/")
    assert "Signature" in query and 0 < int(query["Expires"][0]) - time.time() <= 600
