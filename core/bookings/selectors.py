"""Reads of bookings that interfaces show: joins are decided here, so no interface grows N+1 queries."""

from django.db.models import Prefetch, QuerySet

from core.bookings.models import Booking, BookingSpecialtyItem


def booking_detail_queryset() -> QuerySet[Booking]:
    return Booking.objects.select_related("customer", "pickup_address", "dropoff_address", "package").prefetch_related(
        Prefetch("specialty_lines", queryset=BookingSpecialtyItem.objects.select_related("item"))
    )


def booking_list_queryset() -> QuerySet[Booking]:
    return Booking.objects.select_related("customer")
