from core.notifications.models import Suppression
from core.notifications.services import is_suppressed


def test_a_suppression_added_in_the_console_is_stored_as_it_is_looked_up(role_client):
    client = role_client("operations")
    # when staff add a mixed-case address with stray spaces through the console's add form
    response = client.post("/admin/core/suppression/add/", {
        "channel": "email", "address": "  Jane.Doe@Example.COM ", "reason": "customer asked", "details": "{}"})
    assert response.status_code == 302, response.content[:2000]
    # then it is stored lower-cased and trimmed, so sends to the customer's address are stopped
    assert Suppression.objects.get().address == "jane.doe@example.com"
    assert is_suppressed(channel="email", address="Jane.Doe@example.com")
