"""Repeated failed logins lock that username from that IP, and nobody else."""

import pytest
from django.conf import settings

from tests.factories import UserFactory


def _login(client, username, password):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password})


@pytest.mark.django_db
def test_lockout_after_repeated_failures_spares_other_accounts(client):
    victim = UserFactory(username="victim")
    colleague = UserFactory(username="colleague")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, victim.username, "wrong password")
    # the right password no longer helps this username from this IP …
    locked = _login(client, victim.username, "correct horse battery")
    assert locked.status_code in (403, 429)
    assert "_auth_user_id" not in client.session
    # … while a colleague behind the same office IP still gets in
    ok = _login(client, colleague.username, "correct horse battery")
    assert ok.status_code == 302 and client.session["_auth_user_id"] == str(colleague.pk)
