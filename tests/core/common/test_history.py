import pytest

from core.bookings.services import booking_create
from core.common.audit import acting_as
from core.customers.models import CustomerProfile
from tests.factories import UserFactory


@pytest.mark.django_db
def test_admin_edit_records_user_ip_and_user_agent(client, make_request):
    # given a staff superuser and a customer
    booking, _ = booking_create(request=make_request())
    user = UserFactory(is_superuser=True)
    client.force_login(user)
    profile = booking.customer
    # when they edit the customer's staff notes in the console
    url = f"/admin/core/customerprofile/{profile.pk}/change/"
    response = client.post(url, {"name": profile.name, "email": profile.email, "phone": profile.phone,
                                 "staff_notes": "VIP: prefers morning pickups"},
                           HTTP_USER_AGENT="Mozilla/5.0 OpsTest", REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 302, response.content[:2000]
    # then the history row names them, their IP and their browser
    row = CustomerProfile.history.filter(id=profile.pk).order_by("-history_date").first()
    assert row.staff_notes == "VIP: prefers morning pickups"
    assert row.history_user == user
    assert row.ip_address == "203.0.113.7"
    assert row.user_agent == "Mozilla/5.0 OpsTest"


@pytest.mark.django_db
def test_outside_a_request_the_actor_is_set_explicitly(make_request):
    staff = UserFactory()
    with acting_as(staff, user_agent="huey:test-task"):
        booking, _ = booking_create(request=make_request())
    row = booking.history.first()
    assert row.history_user == staff
    assert row.user_agent == "huey:test-task"
    assert row.ip_address is None
