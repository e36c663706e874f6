"""Headless Chromium through Playwright against pytest-django's live_server."""

import os
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module.

    Playwright's sync API keeps an event loop running in this thread while it is open, and Django refuses ORM
    calls beside a running loop; DJANGO_ALLOW_ASYNC_UNSAFE is set for exactly that time (module scope, so the
    loop is gone before other modules' tests run, and the variable never leaks into their subprocesses).
    """
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not Path(executable).exists():
        pytest.skip(f"no Chromium at {executable}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def login(live_server, page):
    """login("finance") → a role user (groups from the data migration) logged in through the real form."""
    from tests.ops_console.conftest import make_role_user
    from tests.two_factor import current_code, give_totp_device

    def _login(role: str):
        user = make_role_user(role)
        device = give_totp_device(user)  # an enrolled authenticator: the sign-in asks for its code
        page.goto(f"{live_server.url}/admin/login/?next=/admin/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        try:
            page.wait_for_url(f"{live_server.url}/console/2fa/verify/**")
            page.fill("input[name=code]", current_code(device))
            page.click("#two-factor-verify button[type=submit]")
            page.wait_for_url(f"{live_server.url}/admin/")
        except Exception:
            shot(page, f"login_failed_{role}")
            raise
        return user

    return _login


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def make_booking(make_request):
    from tests.ops_console.conftest import create_booking

    def _make(status: str = "pending", **request_overrides):
        return create_booking(make_request, status, **request_overrides)

    return _make
