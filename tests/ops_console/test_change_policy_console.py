"""The change policy in the console: versions are published, never rewritten; tier problems are form errors."""

import json

import pytest
from django.urls import reverse

from core.catalog.policy_models import ChangePolicy

pytestmark = pytest.mark.django_db

TIERS = [{"min_hours_before": 336, "fee_type": "percent", "fee": "0"},
         {"min_hours_before": 0, "fee_type": "fixed", "fee": "40"}]


def _form(**overrides):
    data = {"name": "Winter policy", "cancellation_tiers": json.dumps(TIERS), "reschedule_free_hours": "96",
            "reschedule_fee": "60.00", "reschedule_cutoff_hours": "24"}
    return {**data, **overrides}


def test_admin_publishes_a_new_version_and_the_sold_one_stays_as_it_was(role_client, catalog, make_booking):
    sold = make_booking()
    old = ChangePolicy.objects.get(is_active=True)
    before = ChangePolicy.objects.values().get(pk=old.pk)
    client = role_client("admin")

    response = client.post(reverse("admin:core_changepolicy_add"), _form())

    assert response.status_code == 302, response.content.decode()[:2000]
    new = ChangePolicy.objects.get(is_active=True)
    assert new.version == old.version + 1 and new.cancellation_tiers == TIERS and str(new.reschedule_fee) == "60.00"
    after = ChangePolicy.objects.values().get(pk=old.pk)
    assert after["is_active"] is False
    assert {k: v for k, v in after.items() if k not in ("is_active", "updated_at")} == \
        {k: v for k, v in before.items() if k not in ("is_active", "updated_at")}
    sold.refresh_from_db()
    assert sold.change_policy_id == old.pk  # the booking keeps the version it was sold under
    # history kept, with who did it
    assert new.history.get().history_user == client.user
    assert old.history.latest().history_user == client.user and old.history.latest().is_active is False
    listing = client.get(reverse("admin:core_changepolicy_changelist")).content.decode()
    assert "Winter policy" in listing and "Earlier version" in listing and "≥ 336 h: 0 %" in listing


@pytest.mark.parametrize(("tiers", "expected"), [
    ("[]", "Add at least one cancellation tier."),
    (json.dumps([{"min_hours_before": 48, "fee_type": "percent", "fee": "150"}]),
     "cancellation_tiers.0: Hours ≥ 0; fee_type percent (0–100) or fixed (dollars ≥ 0)."),
    (json.dumps([{"min_hours_before": 48}]), "Each tier needs min_hours_before (hours), fee_type and fee."),
    (json.dumps([{"min_hours_before": 48, "fee_type": "fixed", "fee": "1"},
                 {"min_hours_before": 48, "fee_type": "fixed", "fee": "2"}]), "Two tiers start at the same hour."),
    ("not json", "Enter a valid JSON."),
])
def test_tier_problems_are_form_errors_and_nothing_is_published(role_client, catalog, tiers, expected):
    client = role_client("admin")
    response = client.post(reverse("admin:core_changepolicy_add"), _form(cancellation_tiers=tiers))
    assert response.status_code == 200
    assert expected in response.content.decode()
    assert ChangePolicy.objects.count() == 1


def test_cutoff_after_the_free_limit_is_a_field_error(role_client, catalog):
    response = role_client("admin").post(reverse("admin:core_changepolicy_add"),
                                         _form(reschedule_free_hours="12", reschedule_cutoff_hours="24"))
    assert response.status_code == 200
    assert "cutoff hours ≤ free hours" in response.content.decode()
    assert ChangePolicy.objects.count() == 1


def test_a_published_version_cannot_be_edited_even_by_an_admin(role_client, catalog):
    policy = ChangePolicy.objects.get()
    client = role_client("admin")
    page = client.get(reverse("admin:core_changepolicy_change", args=[policy.pk]))
    assert page.status_code == 200 and 'name="reschedule_fee"' not in page.content.decode()
    assert "New version from this one" in page.content.decode()
    posted = client.post(reverse("admin:core_changepolicy_change", args=[policy.pk]), _form(reschedule_fee="1.00"))
    assert posted.status_code == 403
    assert ChangePolicy.objects.get().reschedule_fee == policy.reschedule_fee
    # the copy opens the add form prefilled from that version
    copy = client.get(reverse("admin:core_changepolicy_detail_new_version", args=[policy.pk]))
    prefilled = client.get(copy["Location"]).content.decode()
    assert copy["Location"].endswith(f"?from={policy.pk}") and "Standard change policy" in prefilled


@pytest.mark.parametrize(("role", "view", "publish"), [
    ("operations", 200, 403), ("finance", 200, 403), ("admin", 200, 302), ("nogroup", 403, 403)])
def test_policy_pages_per_role(role_client, catalog, role, view, publish):
    policy = ChangePolicy.objects.get()
    client = role_client(role)
    assert client.get(reverse("admin:core_changepolicy_changelist")).status_code == view
    assert client.get(reverse("admin:core_changepolicy_change", args=[policy.pk])).status_code == \
        (200 if view == 200 else 403)
    assert client.get(reverse("admin:core_changepolicy_history", args=[policy.pk])).status_code == \
        (200 if view == 200 else 403)
    assert client.post(reverse("admin:core_changepolicy_add"), _form()).status_code == publish
    assert ChangePolicy.objects.filter(is_active=True).get().version == (2 if publish == 302 else 1)
