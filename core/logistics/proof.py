"""Proof of delivery: completion photos and signature copied from Onfleet into our storage, with a SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.common.services import model_update
from core.integrations.onfleet import get_client
from core.logistics.models import DeliveryTask, ProofKind, ProofOfDelivery

logger = logging.getLogger(__name__)
STUCK_AFTER = dt.timedelta(minutes=5)
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def _uploads(completion: dict) -> list[tuple[str, str]]:
    photos = list(completion.get("photoUploadIds") or ())
    if completion.get("photoUploadId") and completion["photoUploadId"] not in photos:
        photos.insert(0, completion["photoUploadId"])
    found = [(ProofKind.PHOTO, str(p)) for p in photos if p]
    if completion.get("signatureUploadId"):
        found.append((ProofKind.SIGNATURE, str(completion["signatureUploadId"])))
    return found


def proof_archive(*, leg_id) -> int:
    """Copy whatever proof Onfleet holds for a completed leg that we do not have yet; returns how many new."""
    leg = DeliveryTask.objects.select_related("booking").filter(pk=leg_id).first()
    if leg is None or leg.local_only or not leg.onfleet_task_id:
        return 0
    client = get_client()
    completion = client.get_task(leg.onfleet_task_id).completion
    have = set(leg.proofs.values_list("onfleet_upload_id", flat=True))
    added = 0
    for kind, upload_id in _uploads(completion):
        if upload_id in have:
            continue
        data, content_type = client.download_upload(upload_id)
        content_type = content_type.split(";")[0].strip().lower()
        proof = ProofOfDelivery(delivery_task=leg, kind=kind, onfleet_upload_id=upload_id[:64],
                                sha256=hashlib.sha256(data).hexdigest(), size=len(data), content_type=content_type)
        name = f"{leg.booking.booking_number}-{leg.kind}-{kind}-{upload_id}.{_EXTENSIONS.get(content_type, 'bin')}"
        proof.file.save(name, ContentFile(data), save=False)
        try:
            with transaction.atomic():
                proof.save()
        except IntegrityError:  # a concurrent run stored it first: keep theirs, drop our copy
            proof.file.delete(save=False)
            continue
        added += 1
    if leg.proof_pending:
        model_update(instance=leg, fields=["proof_pending"], data={"proof_pending": False})
    return added


def proof_archive_pending(*, now: dt.datetime | None = None, limit: int = 100) -> int:
    """Copy the proof of completed legs whose archive job was lost or failed; returns legs finished."""
    now = now or timezone.now()
    ids = DeliveryTask.objects.filter(proof_pending=True, updated_at__lt=now - STUCK_AFTER).values_list(
        "pk", flat=True)[:limit]
    done = 0
    for leg_id in ids:
        try:
            proof_archive(leg_id=leg_id)
            done += 1
        except Exception:
            logger.exception("proof of leg %s not archived yet", leg_id)
    return done


def proof_url(proof: ProofOfDelivery) -> str:
    """A short-lived link for staff (S3: presigned; local files: the media URL behind the console)."""
    return proof.file.storage.url(proof.file.name)
