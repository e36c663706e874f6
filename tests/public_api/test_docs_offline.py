"""/api/v1/docs is served with Swagger UI's assets from our own static files: it works without internet."""

import re

import pytest

pytestmark = pytest.mark.django_db


def test_the_docs_page_loads_swagger_ui_from_our_static_files(client, settings):
    settings.WHITENOISE_USE_FINDERS = True  # what DEBUG (make demo) does; production serves collectstatic's copy

    page = client.get("/api/v1/docs")

    assert page.status_code == 200
    html = page.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
    assert {"/static/ninja/swagger-ui.css", "/static/ninja/swagger-ui-bundle.js",
            "/static/ninja/swagger-ui-init.js"} <= set(assets)
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html), "an asset still comes from another host"
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert b"".join(served.streaming_content if served.streaming else [served.content])
