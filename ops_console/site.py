from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from unfold.dataclasses import SearchResult

COMMAND_RESULTS_PER_MODEL = 8


def environment_callback(request):
    env = settings.ENVIRONMENT
    colour = {"production": "danger", "staging": "warning"}.get(env, "info")
    return [env.upper(), colour]


def command_search_callback(request, search_term: str) -> list[SearchResult]:
    """Ctrl/Cmd+K over bookings and customers: a few indexed-prefix hits each, never a full scan of every match."""
    from core.bookings.models import Booking
    from core.customers.models import CustomerProfile

    term = search_term.strip()
    if len(term) < 2:
        return []
    results: list[SearchResult] = []
    user = request.user
    if user.has_perm("core.view_booking"):
        bookings = (Booking.objects.select_related("customer")
                    .filter(Q(booking_number__icontains=term) | Q(customer__email__istartswith=term)
                            | Q(customer__name__icontains=term) | Q(customer__phone__contains=term))
                    .order_by("-pickup_date")[:COMMAND_RESULTS_PER_MODEL])
        results += [SearchResult(
            title=f"{b.booking_number} · {b.customer.name}",
            description=f"Booking · {b.get_booking_type_display()} · pickup {b.pickup_date:%b %-d, %Y} · "
                        f"{b.get_status_display()}",
            link=reverse("admin:core_booking_change", args=[b.pk]), icon="event") for b in bookings]
    if user.has_perm("core.view_customerprofile"):
        customers = (CustomerProfile.objects
                     .filter(Q(email__istartswith=term) | Q(name__icontains=term) | Q(phone__contains=term))
                     .order_by("name")[:COMMAND_RESULTS_PER_MODEL])
        results += [SearchResult(
            title=f"{c.name} <{c.email}>", description=f"Customer · {c.total_bookings_count} bookings",
            link=reverse("admin:core_customerprofile_change", args=[c.pk]), icon="person") for c in customers]
    return results
