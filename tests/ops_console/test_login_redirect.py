import pytest

from tests.factories import UserFactory


@pytest.mark.django_db
def test_signing_in_at_the_bare_login_page_lands_on_the_dashboard(client):
    UserFactory(username="dana", is_superuser=True)
    response = client.post("/admin/login/", {"username": "dana", "password": "correct horse battery"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_the_site_root_opens_the_console(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
