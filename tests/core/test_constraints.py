"""Bad values are refused by the database itself, not only by forms."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from core.bookings.models import Booking
from core.bookings.services import booking_create
from core.catalog.models import MiniMovePackage, SpecialtyItem, SurchargeRule
from core.customers.models import Address, CustomerProfile
from tests.factories import AddressFactory, CustomerFactory


def _refused(fn):
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


@pytest.mark.django_db
def test_money_cannot_be_negative(catalog):
    _refused(lambda: MiniMovePackage.objects.create(code="x", name="X", base_price=Decimal("-1.00")))
    _refused(lambda: SpecialtyItem.objects.create(code="y", name="Y", base_price=Decimal("-0.01")))
    _refused(lambda: SurchargeRule.objects.create(code="z", name="Z", rule_type="holiday", amount=Decimal("-5")))


@pytest.mark.django_db
def test_enums_are_enforced():
    _refused(lambda: SurchargeRule.objects.create(code="z", name="Z", rule_type="lunar", amount=1))
    _refused(lambda: SurchargeRule.objects.create(code="p", name="P", rule_type="holiday", amount=150,
                                                  is_percentage=True))
    _refused(lambda: SurchargeRule.objects.create(code="r", name="R", rule_type="date_range", amount=1))


@pytest.mark.django_db
def test_addresses_need_a_us_state_and_zip():
    _refused(lambda: Address.objects.create(line1="1 Main St", city="Paris", state="ZZ", zip_code="10001"))
    _refused(lambda: Address.objects.create(line1="1 Main St", city="NYC", state="NY", zip_code="ABCDE"))
    _refused(lambda: Address.objects.create(line1="", city="NYC", state="NY", zip_code="10001"))
    assert Address.objects.create(line1="1 Main St", city="NYC", state="NY", zip_code="10001-1234").pk


@pytest.mark.django_db
def test_customer_email_is_unique_case_insensitively_and_phone_is_e164():
    CustomerFactory(email="Alex@Example.com")
    _refused(lambda: CustomerFactory(email="alex@example.COM"))
    _refused(lambda: CustomerFactory(phone="212-555-0123"))


@pytest.mark.django_db
def test_booking_row_rules(make_request):
    booking, _ = booking_create(request=make_request())
    pk = booking.pk

    def with_values(**values):
        def write():
            b = Booking.objects.get(pk=pk)
            for k, v in values.items():
                setattr(b, k, v)
            b.save()
        return write

    _refused(with_values(status="teleported"))
    _refused(with_values(booking_type="helicopter"))
    _refused(with_values(pickup_window="midnight"))
    _refused(with_values(total_price=Decimal("-1.00")))
    _refused(with_values(coi_fee=Decimal("-50.00")))
    _refused(with_values(package=None))  # a Mini Move needs its package
    _refused(with_values(booking_number="TT-27-1"))
    _refused(with_values(status="cancelled"))  # without cancelled_at


@pytest.mark.django_db
def test_booking_numbers_are_unique(make_request):
    booking, _ = booking_create(request=make_request())
    other, _ = booking_create(request=make_request())
    _refused(lambda: Booking.objects.filter(pk=other.pk).update(booking_number=booking.booking_number))


@pytest.mark.django_db
def test_address_factory_is_valid():
    assert AddressFactory().full_clean() is None
    assert CustomerProfile.objects.count() == 0
