"""The Onfleet client against the fake Onfleet server over HTTP (never patched)."""

import base64
import datetime as dt
import json

import pytest

from core.integrations.onfleet import (
    OnfleetClient,
    OnfleetRejected,
    OnfleetUnavailable,
    TaskSpec,
    sign,
    verify_signature,
)

START = dt.datetime(2027, 3, 10, 13, 0, tzinfo=dt.UTC)


def _client(fake, **kwargs) -> OnfleetClient:
    kwargs.setdefault("backoff_factor", 0)
    return OnfleetClient(api_key=fake.api_key, api_base=fake.api_base, media_base=fake.media_base, **kwargs)


def _spec(**overrides) -> TaskSpec:
    values = dict(address="245 East 72nd Street, New York, NY 10021", recipient_name="Alex Morgan",
                  recipient_phone="+12125550123", notes="Doorman", complete_after=START,
                  complete_before=START + dt.timedelta(hours=4), pickup_task=True,
                  metadata={"totetaxi_booking": "b1", "totetaxi_leg": "pickup"})
    values.update(overrides)
    return TaskSpec(**values)


def test_create_sends_onfleet_wire_format_with_basic_auth(fake_onfleet):
    task = _client(fake_onfleet).create_task(_spec())
    request = [r for r in fake_onfleet.requests if r["method"] == "POST"][0]
    assert request["path"] == "/api/v2/tasks"
    assert base64.b64decode(request["headers"]["Authorization"][6:]).decode() == f"{fake_onfleet.api_key}:"
    body = json.loads(request["body"])
    assert body["destination"] == {"address": {"unparsed": "245 East 72nd Street, New York, NY 10021"}}
    assert body["completeAfter"] == int(START.timestamp() * 1000)
    assert body["pickupTask"] is True
    assert {"name": "totetaxi_leg", "type": "string", "value": "pickup"} in body["metadata"]
    assert task.id in fake_onfleet.tasks and task.state_name == "unassigned"
    assert task.complete_after == START and task.tracking_url.startswith("https://")


def test_dependencies_metadata_lookup_update_and_delete(fake_onfleet):
    client = _client(fake_onfleet)
    pickup = client.create_task(_spec())
    dropoff = client.create_task(_spec(pickup_task=False, dependencies=(pickup.id,),
                                       metadata={"totetaxi_booking": "b1", "totetaxi_leg": "dropoff"}))
    assert dropoff.dependencies == (pickup.id,)
    found = client.find_tasks({"totetaxi_booking": "b1"})
    assert {t.id for t in found} == {pickup.id, dropoff.id}
    assert [t.id for t in client.find_tasks({"totetaxi_booking": "b1", "totetaxi_leg": "dropoff"})] == [dropoff.id]
    updated = client.update_task(dropoff.id, {"notes": "Gate code 1234"})
    assert updated.raw["notes"] == "Gate code 1234"
    client.delete_task(dropoff.id)
    with pytest.raises(OnfleetRejected) as exc:
        client.get_task(dropoff.id)
    assert exc.value.not_found


def test_list_tasks_follows_last_id_pages(fake_onfleet):
    client = _client(fake_onfleet, rate_per_second=0)
    fake_onfleet.rate_limit = 0
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    ids = {client.create_task(_spec(metadata={"n": str(i)})).id for i in range(70)}
    listed = client.list_tasks(since=since)
    assert {t.id for t in listed} == ids
    assert sum(1 for m, p in fake_onfleet.api_calls if p == "/tasks/all") == 2  # 64 + 6


def test_429_is_retried_after_retry_after(fake_onfleet):
    fake_onfleet.throttle(3, retry_after=0)
    task = _client(fake_onfleet).create_task(_spec())
    assert fake_onfleet.throttled == 3
    assert len(fake_onfleet.tasks) == 1 and task.id in fake_onfleet.tasks


def test_a_429_storm_longer_than_our_retries_is_unavailable_and_creates_nothing(fake_onfleet):
    fake_onfleet.throttle(50, retry_after=0)
    with pytest.raises(OnfleetUnavailable) as exc:
        _client(fake_onfleet, max_retries=3).create_task(_spec())
    assert exc.value.status == 429 and not exc.value.maybe_done
    assert fake_onfleet.tasks == {}


def test_5xx_is_retried_for_reads_but_not_for_creates(fake_onfleet):
    client = _client(fake_onfleet)
    task = client.create_task(_spec())
    fake_onfleet.fail_on("GET", f"/tasks/{task.id}", status=503, times=2)
    assert client.get_task(task.id).id == task.id
    fake_onfleet.fail_on("POST", "/tasks", status=500)
    with pytest.raises(OnfleetUnavailable) as exc:
        client.create_task(_spec())
    assert exc.value.maybe_done
    creates = [r for r in fake_onfleet.requests if r["method"] == "POST" and r["path"] == "/api/v2/tasks"]
    assert len(creates) == 2  # the first create and the failed one: never repeated blindly


def test_a_create_that_times_out_may_still_have_happened(fake_onfleet):
    fake_onfleet.hang_on("POST", "/tasks", seconds=1.0)
    with pytest.raises(OnfleetUnavailable) as exc:
        _client(fake_onfleet, timeout=(2.0, 0.3)).create_task(_spec())
    assert exc.value.maybe_done
    # Onfleet carried it out: the caller must look it up by metadata
    assert fake_onfleet.wait_until(lambda: len(fake_onfleet.tasks) == 1)


def test_4xx_carries_onfleets_message(fake_onfleet):
    client = _client(fake_onfleet)
    with pytest.raises(OnfleetRejected) as exc:
        client.create_task(_spec(dependencies=("nope",)))
    assert exc.value.status == 400 and "Invalid dependencies" in exc.value.message
    with pytest.raises(OnfleetRejected) as exc:
        OnfleetClient(api_key="wrong", api_base=fake_onfleet.api_base).get_task("x")
    assert exc.value.status == 401


def test_completed_tasks_cannot_be_updated(fake_onfleet):
    client = _client(fake_onfleet)
    task = client.create_task(_spec())
    fake_onfleet.complete(task.id)
    with pytest.raises(OnfleetRejected):
        client.update_task(task.id, {"notes": "late change"})


def test_download_completion_photo(fake_onfleet):
    client = _client(fake_onfleet)
    task = client.create_task(_spec())
    fake_onfleet.complete(task.id, photos=1)
    upload_id = client.get_task(task.id).completion["photoUploadIds"][0]
    data, content_type = client.download_upload(upload_id)
    assert data == fake_onfleet.uploads[upload_id] and content_type == "image/png"


def test_signature_matches_onfleets_hmac_sha512_with_rotation(fake_onfleet):
    client = _client(fake_onfleet)
    client.create_task(_spec())
    body, signature = fake_onfleet.webhooks[-1]
    assert verify_signature(body, signature, [fake_onfleet.webhook_secret])
    assert verify_signature(body, signature, ["00" * 32, "not-hex", fake_onfleet.webhook_secret])
    assert not verify_signature(body + b" ", signature, [fake_onfleet.webhook_secret])
    assert not verify_signature(body, None, [fake_onfleet.webhook_secret])
    assert not verify_signature(body, sign(body, "ab" * 32), [fake_onfleet.webhook_secret])
