"""The change policy a booking is sold under: recorded at creation, at no extra query once the catalog is warm."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.bookings.services import booking_create
from core.catalog.policy_models import ChangePolicy
from core.catalog.selectors import catalog_snapshot

pytestmark = pytest.mark.django_db


def _create_queries(make_request) -> tuple[object, int]:
    with CaptureQueriesContext(connection) as ctx:
        booking, _token = booking_create(request=make_request())
    # no statement of its own reads the policy table (the catalog version's UNION names it unquoted)
    assert not [q["sql"] for q in ctx.captured_queries if 'FROM "catalog_changepolicy"' in q["sql"]]
    return booking, len(ctx.captured_queries)


def test_the_booking_records_the_active_policy_at_no_extra_query(make_request, future_weekday):
    catalog_snapshot(future_weekday)  # warm the per-process catalog cache, as any running server has it
    _create_queries(make_request)     # and the first customer's upsert path
    policy = ChangePolicy.objects.get(is_active=True)
    booking, with_policy = _create_queries(make_request)
    assert booking.change_policy_id == policy.pk and policy.version == 1

    # the same create with no policy at all costs the same statements: the id rides on the cached catalog
    policy.is_active = False
    policy.save()
    catalog_snapshot(future_weekday)
    booking, without_policy = _create_queries(make_request)
    assert booking.change_policy_id is None
    assert with_policy == without_policy


def test_a_new_policy_version_applies_to_new_bookings_only(make_request):
    first, _ = booking_create(request=make_request())
    old = ChangePolicy.objects.get(is_active=True)
    old.is_active = False
    old.save()
    new = ChangePolicy.objects.create(version=2, name="Winter", reschedule_fee="50.00")

    second, _ = booking_create(request=make_request())

    first.refresh_from_db()
    assert first.change_policy_id == old.pk and second.change_policy_id == new.pk
    # edits are audited (loaddata writes no history row: the fixture's own insert is not one)
    assert new.history.count() == 1 and old.history.get().is_active is False
