"""Recovery codes under concurrency (PostgreSQL): django-otp's static device has no unique rule on (user, name)."""

import pytest
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from core.accounts.models import User
from core.accounts.two_factor import recovery_codes_regenerate
from tests.concurrency import in_background, wait_until_another_session_waits_on_a_lock
from tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first_time", [True, False])
def test_recovery_codes_made_twice_at_once_leave_one_device_holding_the_codes_shown_last(postgres_only, first_time):
    # given a person with (or still without) recovery codes
    user = UserFactory()
    if not first_time:
        recovery_codes_regenerate(user=user)

    # when two requests make new codes at once (the second while the first, holding the person's row, writes them)
    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)
        recovery_codes_regenerate(user=user)
        second = in_background(lambda: recovery_codes_regenerate(user=user))
        wait_until_another_session_waits_on_a_lock()
    codes = second.result(timeout=30)

    # then one device remains, and the codes that work are exactly the ones shown last
    device = StaticDevice.objects.get(user=user)
    assert sorted(StaticToken.objects.filter(device=device).values_list("token", flat=True)) == sorted(codes)
    assert StaticToken.objects.count() == len(codes)
