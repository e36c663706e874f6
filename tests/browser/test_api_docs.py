"""The front-end developers' first page, /api/v1/docs, renders with every other host unreachable."""

import pytest

from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_api_docs_render_offline(live_server, page):
    # given: no internet, only our own server answers
    elsewhere = []

    def offline(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", offline)

    # when
    page.goto(f"{live_server.url}/api/v1/docs")

    # then: Swagger UI drew the operations and the error-code table from our schema
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() >= 10
    assert page.get_by_text("payload_too_large").first.is_visible()
    assert elsewhere == []
    page.screenshot(path=str(ARTIFACTS / "api-docs-offline.png"), full_page=False)
