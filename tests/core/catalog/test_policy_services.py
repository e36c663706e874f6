"""Publishing change policy versions: the next number, one active version, earlier versions as sold."""

from decimal import Decimal

import pytest

from core.catalog.errors import PolicyInvalid
from core.catalog.policy_models import ChangePolicy
from core.catalog.policy_services import change_policy_publish
from core.common.errors import Conflict
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
def test_two_admins_publishing_at_once_leave_one_active_version(postgres_only, catalog):
    def publish(i):
        try:
            return _publish(f"Racer {i}").version
        except Conflict:
            return None

    versions = run_in_threads(4, publish)

    published = [v for v in versions if v is not None]
    assert published and len(set(published)) == len(published)
    assert ChangePolicy.objects.filter(is_active=True).count() == 1
    assert ChangePolicy.objects.get(is_active=True).version == max(published)
