import pytest


@pytest.mark.django_db
def test_health_answers_when_the_database_does(client):
    response = client.get("/api/v1/health/")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_unknown_api_path_uses_the_error_format(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
