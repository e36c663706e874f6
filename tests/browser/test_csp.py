"""The console under its Content-Security-Policy: no violations, and Unfold's Alpine components still work."""

import pytest

from tests.browser.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_console_pages_raise_no_csp_violations(live_server, page, login, make_booking):
    violations = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    booking = make_booking()
    login("admin")
    for url in ("/admin/", "/admin/core/booking/", f"/admin/core/booking/{booking.pk}/change/",
                "/admin/core/customerprofile/", "/console/2fa/"):
        response = page.goto(f"{live_server.url}{url}")
        assert response.status == 200 and "script-src 'self' 'unsafe-eval'" in response.headers[
            "content-security-policy"]
        page.wait_for_load_state("networkidle")
    # Alpine evaluated its components' expressions (what 'unsafe-eval' is for): each x-data got its data stack.
    page.goto(f"{live_server.url}/admin/")
    page.wait_for_load_state("networkidle")
    started = page.evaluate("() => [...document.querySelectorAll('[x-data]')].map(el => !!el._x_dataStack)")
    assert started and all(started)
    shot(page, "csp_console")
    assert violations == []
