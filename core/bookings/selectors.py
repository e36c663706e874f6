"""Reads of bookings that interfaces show: joins are decided here, so no interface grows N+1 queries."""

from django.db.models import Prefetch, Q, QuerySet

from core.bookings.models import Booking, BookingSpecialtyItem


def booking_detail_queryset() -> QuerySet[Booking]:
    return Booking.objects.select_related("customer", "pickup_address", "dropoff_address", "package").prefetch_related(
        Prefetch("specialty_lines", queryset=BookingSpecialtyItem.objects.select_related("item"))
    )


def booking_specialty_codes(booking: Booking) -> tuple[tuple[str, int], ...]:
    """The booked specialty items as (code, quantity) (uses the prefetch of booking_detail_queryset)."""
    return tuple((line.item.code, line.quantity) for line in booking.specialty_lines.all())


def booking_next_steps(booking: Booking) -> list[dict]:
    """What the customer still has to do (or can expect), for the confirmation page."""
    from core.bookings.models import BookingStatus, PaymentState

    steps: list[dict] = []
    if booking.status == BookingStatus.CANCELLED:
        return [{"code": "cancelled", "message": "This booking is cancelled. Book again any time."}]
    if booking.status == BookingStatus.PENDING and booking.payment_status in (
        PaymentState.UNPAID, PaymentState.FAILED, PaymentState.PROCESSING
    ):
        when = ""
        if booking.hold_expires_at:
            from django.utils import timezone

            when = f" by {timezone.localtime(booking.hold_expires_at):%-I:%M %p} (New York time)"
        steps.append({"code": "payment_needed",
                      "message": f"Pay ${booking.total_price:,.2f}{when} to confirm your date; "
                                 "until then it is only held for you."})
    if booking.payment_status == PaymentState.BALANCE_DUE:
        steps.append({"code": "balance_due",
                      "message": "Your change costs more than you paid: pay the balance from your booking page."})
    from core.documents.gate import coi_gate_passed

    if booking.coi_required and booking.status != BookingStatus.COMPLETED and not coi_gate_passed(booking):
        steps.append({"code": "coi_needed",
                      "message": "Send us your building's certificate of insurance requirements; "
                                 "we issue the certificate before moving day."})
    if booking.status == BookingStatus.PAID:
        steps.append({"code": "awaiting_schedule",
                      "message": "Paid, thank you. We will confirm your van and driver the day before pickup."})
    if booking.status in (BookingStatus.SCHEDULED, BookingStatus.IN_PROGRESS) and booking.tracking_url:
        steps.append({"code": "track", "message": "Follow your van with the tracking link."})
    return steps


def booking_search(*, term: str, limit: int) -> list[Booking]:
    """Quick lookup by number, customer name, email or phone, latest pickup first (the console's Cmd+K).

    Walking the pickup_date index lets the database stop at the `limit`-th match instead of sorting every one.
    """
    return list(
        Booking.objects.select_related("customer")
        .filter(Q(booking_number__icontains=term) | Q(customer__email__istartswith=term)
                | Q(customer__name__icontains=term) | Q(customer__phone__contains=term))
        .order_by("-pickup_date")[:limit]
    )
