"""Console two-factor authentication: who must use it, enrolment, verification, recovery codes."""

import re

import pytest
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.accounts.two_factor import RECOVERY_CODE_COUNT, two_factor_required
from tests.ops_console.conftest import make_role_user
from tests.two_factor import current_code, give_totp_device

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"


def _sign_in(client, user):
    response = client.post("/admin/login/?next=/admin/bookings-desk/", {"username": user.username,
                                                                     "password": PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)
    return client.get("/admin/")


@pytest.mark.parametrize(("role", "required"), [("admin", True), ("finance", True), ("operations", False)])
def test_who_must_use_two_factor(role, required, settings):
    user = make_role_user(role)
    assert two_factor_required(user) is required
    settings.TWO_FACTOR_REQUIRED_FOR_ALL_STAFF = True
    assert two_factor_required(user) is True


@pytest.mark.parametrize("role", ["admin", "finance"])
def test_admin_and_finance_are_sent_to_enrol_and_see_nothing_before(client, role):
    user = make_role_user(role)
    response = _sign_in(client, user)
    assert response.status_code == 302 and response["Location"].startswith("/console/2fa/setup/?next=")
    for url in ("/admin/core/booking/", "/admin/core/payment/", "/console/2fa/"):
        assert client.get(url).status_code == 302


def test_operations_without_a_device_get_in_and_the_setting_requires_it_for_all(client, settings):
    user = make_role_user("operations")
    assert _sign_in(client, user).status_code == 200
    settings.TWO_FACTOR_REQUIRED_FOR_ALL_STAFF = True
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/console/2fa/setup/")


def test_enrolment_confirms_with_a_code_and_shows_recovery_codes_once(client):
    user = make_role_user("finance")
    _sign_in(client, user)
    page = client.get("/console/2fa/setup/?next=/admin/")
    assert page.status_code == 200 and b"<svg" in page.content
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    secret = re.search(rb'id="two-factor-secret">([A-Z2-7]+)<', page.content).group(1).decode()
    assert secret  # the same key the QR code carries, for typing in by hand

    wrong = client.post("/console/2fa/setup/", {"code": "000000", "next": "/admin/"})
    assert wrong.status_code == 200 and b"not valid" in wrong.content
    done = client.post("/console/2fa/setup/", {"code": current_code(device), "next": "/admin/"})

    assert done.status_code == 200
    codes = re.findall(rb"<li>([0-9a-f]{5}-[0-9a-f]{5})</li>", done.content)
    assert len(codes) == RECOVERY_CODE_COUNT
    assert StaticToken.objects.filter(device__user=user).count() == RECOVERY_CODE_COUNT
    assert client.get("/admin/").status_code == 200  # verified for the rest of the session


def test_enrolled_staff_must_enter_a_code_at_every_sign_in(client):
    user = make_role_user("operations")  # optional for Operations, but once enrolled it is asked for
    device = give_totp_device(user)
    response = _sign_in(client, user)
    assert response.status_code == 302 and response["Location"].startswith("/console/2fa/verify/")

    assert client.get("/admin/core/booking/").status_code == 302  # nothing before the code
    ok = client.post("/console/2fa/verify/", {"code": current_code(device), "next": "/admin/core/booking/"})
    assert ok.status_code == 302 and ok["Location"] == "/admin/core/booking/"
    assert client.get("/admin/").status_code == 200


def test_verify_refuses_an_offsite_next(client):
    user = make_role_user("admin")
    device = give_totp_device(user)
    _sign_in(client, user)
    response = client.post("/console/2fa/verify/", {"code": current_code(device), "next": "https://evil.example/"})
    assert response["Location"] == "/admin/"


def test_a_recovery_code_works_once(client):
    user = make_role_user("admin")
    give_totp_device(user)
    from core.accounts.two_factor import recovery_codes_regenerate

    code = recovery_codes_regenerate(user=user)[0]
    _sign_in(client, user)
    assert client.post("/console/2fa/verify/", {"code": code}).status_code == 302
    client.post("/admin/logout/")
    _sign_in(client, user)
    reused = client.post("/console/2fa/verify/", {"code": code})
    assert reused.status_code == 200 and b"not valid" in reused.content


def test_repeated_wrong_codes_are_throttled(client):
    user = make_role_user("admin")
    device = give_totp_device(user)
    _sign_in(client, user)
    for _ in range(3):
        client.post("/console/2fa/verify/", {"code": "000000"})
    # django-otp's throttle: after failures even the right code is refused until the back-off passes
    response = client.post("/console/2fa/verify/", {"code": current_code(device)})
    assert response.status_code == 200 and client.get("/admin/").status_code == 302


def test_regenerating_recovery_codes_replaces_the_old_ones(client):
    user = make_role_user("finance")
    client.force_login(user)  # a verified session (tests/conftest.py)
    first = client.post("/console/2fa/")
    second = client.post("/console/2fa/")
    old = set(re.findall(rb"<li>([0-9a-f-]{11})</li>", first.content))
    new = set(re.findall(rb"<li>([0-9a-f-]{11})</li>", second.content))
    assert len(new) == RECOVERY_CODE_COUNT and not old & new
    assert set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True)) == {
        c.decode() for c in new}


def test_reset_two_factor_action_makes_the_person_enrol_again(superuser_client):
    user = make_role_user("finance")
    give_totp_device(user)
    from core.accounts.two_factor import has_two_factor, recovery_codes_regenerate

    recovery_codes_regenerate(user=user)
    response = superuser_client.post("/admin/core/user/", {"action": "reset_two_factor",
                                                           "_selected_action": [user.pk]})
    assert response.status_code == 302
    assert not has_two_factor(user) and not StaticToken.objects.filter(device__user=user).exists()
