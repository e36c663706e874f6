"""Customer data requests in the console: JSON export and confirmed anonymising, Admin role only."""

import json

import pytest

from core.customers.models import CustomerProfile

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.core.customers.fixtures"]


def test_console_export_and_confirmed_anonymise(customer_with_history, client):
    customer, _, _, staff = customer_with_history
    client.force_login(staff)
    export = client.post("/admin/core/customerprofile/", {"action": "export_personal_data",
                                                          "_selected_action": [customer.pk]})
    assert export.status_code == 200 and export["Content-Type"] == "application/json"
    assert json.loads(export.content)[str(customer.pk)]["profiles"][0]["email"] == "alex.morgan@example.com"

    url = f"/admin/core/customerprofile/{customer.pk}/anonymise/"
    wrong = client.post(url, {"confirm": "yes", "confirm_email": "someone@example.com"})
    assert wrong.status_code == 200 and b"not this customer" in wrong.content
    assert CustomerProfile.objects.get(pk=customer.pk).email == "alex.morgan@example.com"
    done = client.post(url, {"confirm": "yes", "confirm_email": "Alex.Morgan@example.com"})
    assert done.status_code == 302
    assert CustomerProfile.objects.get(pk=customer.pk).email.endswith("@anonymised.invalid")


def test_only_the_admin_role_may_export_or_anonymise(customer_with_history, role_client):
    customer, *_ = customer_with_history
    client = role_client("operations")
    assert client.get(f"/admin/core/customerprofile/{customer.pk}/anonymise/").status_code == 403
    response = client.post("/admin/core/customerprofile/", {"action": "export_personal_data",
                                                            "_selected_action": [customer.pk]})
    assert response.get("Content-Type") != "application/json"
