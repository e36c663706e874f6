import pytest
from django.core.exceptions import ValidationError

from core.common.services import model_update
from tests.factories import CustomerFactory, UserFactory


@pytest.mark.django_db
def test_saves_only_changed_listed_fields_with_the_actor(django_assert_num_queries):
    # given a customer and a staff user
    customer = CustomerFactory(name="Alex Morgan", staff_notes="")
    staff = UserFactory()
    # when one listed field changes and another keeps its value
    with django_assert_num_queries(2):  # the UPDATE and its history row
        changed = model_update(instance=customer, fields=["name", "staff_notes"],
                               data={"name": "Alex Morgan", "staff_notes": "VIP"}, actor=staff)
    # then it reports a change, wrote it, and the history row names the actor
    assert changed is True
    customer.refresh_from_db()
    assert customer.staff_notes == "VIP"
    assert customer.history.first().history_user == staff


@pytest.mark.django_db
def test_no_change_writes_nothing(django_assert_num_queries):
    customer = CustomerFactory(name="Alex Morgan")
    with django_assert_num_queries(0):
        assert model_update(instance=customer, fields=["name"], data={"name": "Alex Morgan"}) is False


@pytest.mark.django_db
def test_field_validation_runs_and_unknown_fields_are_refused():
    customer = CustomerFactory()
    with pytest.raises(ValidationError):
        model_update(instance=customer, fields=["email"], data={"email": "not an email"})
    with pytest.raises(ValueError):
        model_update(instance=customer, fields=["name"], data={"email": "a@example.com"})
