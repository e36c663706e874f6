"""Two-factor enrolment and sign-in in a real browser (Unfold pages, QR code, recovery codes)."""

import base64
import re

import pytest
from django_otp.oath import totp

from tests.browser.conftest import PASSWORD, shot
from tests.ops_console.conftest import make_role_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_finance_enrols_with_an_authenticator_then_reaches_the_console(live_server, page):
    user = make_role_user("finance")
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")

    page.wait_for_url(f"{live_server.url}/console/2fa/setup/**")
    assert page.locator("#two-factor-qr svg").count() == 1
    secret = page.inner_text("#two-factor-secret").strip()
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    page.fill("input[name=code]", f"{totp(key):06d}")  # what the phone app would show
    page.click("#two-factor-setup button[type=submit]")

    codes = page.locator("#recovery-codes li").all_inner_texts()
    shot(page, "two_factor_recovery_codes")
    assert len(codes) == 10 and all(re.fullmatch(r"[0-9a-f]{5}-[0-9a-f]{5}", c) for c in codes)
    page.click("text=I have saved them: continue")
    page.wait_for_url(f"{live_server.url}/admin/")
    assert page.locator("text=Two-factor authentication").count() >= 1  # the sidebar entry


def test_a_recovery_code_signs_in_when_the_phone_is_lost(live_server, page):
    from core.accounts.two_factor import recovery_codes_regenerate
    from tests.two_factor import give_totp_device

    user = make_role_user("admin")
    give_totp_device(user)
    code = recovery_codes_regenerate(user=user)[3]
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/console/2fa/verify/**")
    page.fill("input[name=code]", code)
    page.click("#two-factor-verify button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
