"""Test data: factory-boy factories and typed booking requests."""

import datetime as dt
import itertools

import factory
from factory.django import DjangoModelFactory

from core.accounts.models import User
from core.bookings.requests import BookingRequest
from core.customers.addresses import normalize_address
from core.customers.models import Address, CustomerProfile
from core.customers.services import AddressData, CustomerData

_seq = itertools.count(1)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@totetaxi.test")
    is_staff = True
    role = User.Role.STAFF
    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or "correct horse battery")
        if create:
            self.save(update_fields=["password"])


class AddressFactory(DjangoModelFactory):
    class Meta:
        model = Address

    line1 = factory.Sequence(lambda n: f"{n + 1} Further Lane")
    city = "East Hampton"
    state = "NY"
    zip_code = "11937"
    normalized_address = factory.LazyAttribute(lambda a: normalize_address(a.line1, a.zip_code))


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = CustomerProfile

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    phone = "+12125550123"


def booking_request(**overrides) -> BookingRequest:
    n = next(_seq)
    values = dict(
        booking_type="mini_move",
        pickup_date=dt.date(2027, 3, 10),
        pickup_window="morning",
        package="petite",
        item_count=10,
        specialty_items=(),
        coi_required=False,
        customer=CustomerData(name="Alex Morgan", email=f"alex{n}@example.com", phone="+12125550123"),
        pickup_address=AddressData(line1="245 East 72nd Street", city="New York", state="NY", zip_code="10021"),
        dropoff_address=AddressData(line1="27 Further Lane", city="East Hampton", state="NY", zip_code="11937"),
        notes="",
    )
    values.update(overrides)
    if values["booking_type"] != "mini_move" and "package" not in overrides:
        values["package"] = None
    return BookingRequest(**values)
