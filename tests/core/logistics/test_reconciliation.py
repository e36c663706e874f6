"""Nightly drift check against the fake Onfleet: each mismatch kind found, a clean booking finds none."""

import pytest

from core.bookings.services import booking_create
from core.integrations.onfleet import get_client, to_ms
from core.logistics.legs import task_spec
from core.logistics.models import DispatchMismatch, LegKind
from core.logistics.reconciliation import dispatch_mismatch_resolve, drift_run
from tests.core.logistics.conftest import legs_of, task_ids

pytestmark = pytest.mark.django_db


def test_drift_finds_each_kind_of_mismatch(onfleet, make_request, pay, future_weekday, staff):
    clean, deleted, moved, unlinked, refused, orphan_source = (
        pay(booking_create(request=make_request())[0]) for _ in range(6))
    # deleted in Onfleet's dashboard (no webhook reached us)
    with onfleet._lock:
        del onfleet.tasks[task_ids(deleted)[1]]
    # a dispatcher moved a window in Onfleet
    onfleet.tasks[task_ids(moved)[0]]["completeAfter"] += 3_600_000
    # the drop-off lost its link to the pickup
    onfleet.tasks[task_ids(unlinked)[1]]["dependencies"] = []
    # a task with our metadata for a leg we no longer point at
    orphan_leg = legs_of(orphan_source)[LegKind.PICKUP]
    orphan = get_client().create_task(task_spec(orphan_leg, booking_number=orphan_source.booking_number))
    # a paid booking Onfleet refused (400): never dispatched
    onfleet.fail_on("POST", "/tasks", status=400)
    refused = pay(booking_create(request=make_request())[0])

    result = drift_run(run_date=future_weekday)

    found = set(DispatchMismatch.objects.values_list("kind", "key"))
    refused_leg = legs_of(refused)[LegKind.PICKUP]
    assert found == {
        ("deleted_in_onfleet", task_ids(deleted)[1]),
        ("window_mismatch", task_ids(moved)[0]),
        ("broken_dependency", task_ids(unlinked)[1]),
        ("orphaned", orphan.id),
        ("missing", f"leg:{refused_leg.pk}"),
        ("missing", f"leg:{legs_of(refused)[LegKind.DROPOFF].pk}"),
    }
    assert result.mismatches == 6 and not DispatchMismatch.objects.filter(delivery_task__booking=clean).exists()
    window = DispatchMismatch.objects.get(kind="window_mismatch")
    assert window.details["ours"][0] == legs_of(moved)[LegKind.PICKUP].window_start.isoformat()
    assert to_ms(legs_of(moved)[LegKind.PICKUP].window_start) + 3_600_000 == onfleet.tasks[task_ids(moved)[0]][
        "completeAfter"]

    drift_run(run_date=future_weekday)  # re-running refreshes, never duplicates
    assert DispatchMismatch.objects.count() == 6


def test_resolving_needs_the_permission(onfleet, staff):
    from django.contrib.auth.models import Permission

    from core.common.errors import PermissionDenied

    mismatch = DispatchMismatch.objects.create(run_date="2027-03-10", kind="orphaned", key="t1")
    with pytest.raises(PermissionDenied):
        dispatch_mismatch_resolve(mismatch=mismatch, actor=staff)
    staff.user_permissions.add(Permission.objects.get(codename="change_dispatchmismatch"))
    staff = type(staff).objects.get(pk=staff.pk)
    assert dispatch_mismatch_resolve(mismatch=mismatch, actor=staff).resolved
