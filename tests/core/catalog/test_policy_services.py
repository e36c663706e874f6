"""Publishing change policy versions: the next number, one active version, earlier versions as sold."""

from decimal import Decimal

import pytest

from core.catalog.errors import PolicyInvalid
from core.catalog.policy_models import ChangePolicy
from core.catalog.policy_services import change_policy_publish
from tests.concurrency import run_in_threads

TIERS = [{"min_hours_before": 72, "fee_type": "fixed", "fee": "25"}, {"min_hours_before": 0, "fee_type": "percent",
                                                                      "fee": "100"}]


def _publish(name: str = "Next", **overrides):
    args = {"name": name, "cancellation_tiers": TIERS, "reschedule_free_hours": 72,
            "reschedule_fee": Decimal("75.00"), "reschedule_cutoff_hours": 24, **overrides}
    return change_policy_publish(**args)


@pytest.mark.django_db
def test_publishing_numbers_the_version_and_retires_the_active_one(catalog):
    first = ChangePolicy.objects.get(is_active=True)
    second = _publish()
    third = _publish("Third")
    assert (second.version, third.version) == (first.version + 1, first.version + 2)
    assert list(ChangePolicy.objects.filter(is_active=True)) == [third]
    first.refresh_from_db()
    assert first.cancellation_tiers != TIERS  # an earlier version is retired, not rewritten


@pytest.mark.django_db
@pytest.mark.parametrize(("overrides", "field"), [
    ({"cancellation_tiers": []}, "cancellation_tiers"),
    ({"cancellation_tiers": [{"min_hours_before": -1, "fee_type": "fixed", "fee": "1"}]}, "cancellation_tiers"),
    ({"reschedule_free_hours": 12, "reschedule_cutoff_hours": 24}, "reschedule_cutoff_hours"),
])
def test_an_invalid_policy_is_refused_by_field_and_nothing_changes(catalog, overrides, field):
    with pytest.raises(PolicyInvalid) as refused:
        _publish(**overrides)
    assert field in refused.value.fields
    assert ChangePolicy.objects.filter(is_active=True).get().version == 1


@pytest.mark.django_db(transaction=True)
def test_admins_publishing_at_once_queue_and_leave_one_active_version(postgres_only, catalog):
    """Publishers queue on a lock: every one of them publishes, in turn, with no lost version and no deadlock.

    Several rounds, because the old row lock only went wrong when two waiters woke to the same empty state.
    """
    start = ChangePolicy.objects.get(is_active=True).version
    for round_ in range(4):
        versions = run_in_threads(5, lambda i, r=round_: _publish(f"Racer {r}.{i}").version)
        first = start + 1 + round_ * 5
        assert sorted(versions) == list(range(first, first + 5))
        assert ChangePolicy.objects.filter(is_active=True).get().version == first + 4
