"""django-import-export resources for the console (bookings, customers, catalog, payments)."""

from import_export import resources

from core import models as m


class BookingResource(resources.ModelResource):
    class Meta:
        model = m.Booking


class CustomerResource(resources.ModelResource):
    class Meta:
        model = m.CustomerProfile


class PaymentResource(resources.ModelResource):
    class Meta:
        model = m.Payment


class MiniMovePackageResource(resources.ModelResource):
    class Meta:
        model = m.MiniMovePackage


class SpecialtyItemResource(resources.ModelResource):
    class Meta:
        model = m.SpecialtyItem


class SurchargeRuleResource(resources.ModelResource):
    class Meta:
        model = m.SurchargeRule
