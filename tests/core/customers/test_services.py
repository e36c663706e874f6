import pytest
from django.db import transaction

from core.bookings.models import Booking
from core.bookings.services import booking_create
from core.common.errors import Conflict, ValidationError
from core.customers.models import CustomerProfile
from core.customers.services import CustomerData, customer_merge, customer_upsert_for_booking
from tests.concurrency import in_background, wait_until_another_session_waits_on_a_lock
from tests.factories import UserFactory


@pytest.mark.django_db
def test_a_known_email_reuses_and_updates_the_profile(make_request):
    # given a first booking
    first, _ = booking_create(request=make_request(
        customer=CustomerData(name="Alex Morgan", email="Alex@Example.com", phone="(212) 555-0123")))
    # when the same person books again with a different case and a new phone
    second, _ = booking_create(request=make_request(
        customer=CustomerData(name="Alex R. Morgan", email="alex@example.com", phone="+1 646 555 0199")))
    # then one profile, updated, counting both bookings
    assert first.customer_id == second.customer_id
    profile = CustomerProfile.objects.get()
    assert profile.name == "Alex R. Morgan"
    assert profile.phone == "+16465550199"
    assert profile.total_bookings_count == 2
    assert profile.created_from_booking_id == first.pk


@pytest.mark.django_db
def test_phone_is_stored_in_e164_and_bad_contacts_are_refused():
    profile = customer_upsert_for_booking(data=CustomerData(name="Sam", email="sam@example.com",
                                                            phone="212.555.0123"))
    assert profile.phone == "+12125550123"
    with pytest.raises(ValidationError) as exc:
        customer_upsert_for_booking(data=CustomerData(name="", email="not-an-email", phone="12"))
    assert set(exc.value.fields) == {"customer.name", "customer.email", "customer.phone"}


@pytest.mark.django_db
def test_merge_moves_bookings_and_is_audited(make_request):
    a, _ = booking_create(request=make_request(customer=CustomerData(name="A", email="a@example.com")))
    b, _ = booking_create(request=make_request(customer=CustomerData(name="A dup", email="a.dup@example.com")))
    staff = UserFactory()
    target = customer_merge(source=b.customer, target=a.customer, actor=staff)
    b.refresh_from_db()
    assert b.customer_id == target.pk
    assert target.total_bookings_count == 2
    source = CustomerProfile.objects.get(email="a.dup@example.com")
    assert source.merged_into_id == target.pk
    assert b.history.first().history_user == staff


@pytest.mark.django_db(transaction=True)
def test_two_opposite_merges_at_the_same_time_one_merges_the_other_is_told(postgres_only, make_request):
    # given two profiles of one person, the lower id first
    a, _ = booking_create(request=make_request(customer=CustomerData(name="A", email="a@example.com")))
    b, _ = booking_create(request=make_request(customer=CustomerData(name="A dup", email="a.dup@example.com")))
    first, second = sorted([a.customer, b.customer], key=lambda c: c.pk)
    staff = UserFactory()

    # when one admin merges first into second while another merges second into first (waiting on the row the
    # first merge locked)
    with transaction.atomic():
        CustomerProfile.objects.select_for_update().get(pk=first.pk)
        opposite = in_background(lambda: customer_merge(source=second, target=first, actor=staff))
        wait_until_another_session_waits_on_a_lock()
        customer_merge(source=first, target=second, actor=staff)
    with pytest.raises(Conflict) as exc:
        opposite.result(timeout=30)

    # then no deadlock: the first merge stands, the other is told why it did nothing
    assert exc.value.code == "customer_merged"
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.merged_into_id == second.pk and second.merged_into_id is None
    assert second.total_bookings_count == 2 and first.total_bookings_count == 0
    assert set(Booking.objects.values_list("customer_id", flat=True)) == {second.pk}


@pytest.mark.django_db
def test_a_profile_already_merged_cannot_be_merged_again_or_merged_into(make_request):
    a, _ = booking_create(request=make_request(customer=CustomerData(name="A", email="a@example.com")))
    b, _ = booking_create(request=make_request(customer=CustomerData(name="A dup", email="a.dup@example.com")))
    staff = UserFactory()
    customer_merge(source=b.customer, target=a.customer, actor=staff)
    for source, target in ((b.customer, a.customer), (a.customer, b.customer)):
        with pytest.raises(Conflict) as exc:
            customer_merge(source=source, target=target, actor=staff)
        assert exc.value.code == "customer_merged"
