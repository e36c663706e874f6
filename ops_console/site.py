from django.conf import settings
from django.urls import reverse
from unfold.dataclasses import SearchResult

COMMAND_RESULTS_PER_MODEL = 8


def environment_callback(request):
    env = settings.ENVIRONMENT
    colour = {"production": "danger", "staging": "warning"}.get(env, "info")
    return [env.upper(), colour]


def command_search_callback(request, search_term: str) -> list[SearchResult]:
    """Ctrl/Cmd+K over bookings and customers: at most a few hits of each, through core selectors."""
    from core.bookings.selectors import booking_search
    from core.customers.selectors import customer_search

    term = search_term.strip()
    if len(term) < 2:
        return []
    results: list[SearchResult] = []
    user = request.user
    if user.has_perm("core.view_booking"):
        bookings = booking_search(term=term, limit=COMMAND_RESULTS_PER_MODEL)
        results += [SearchResult(
            title=f"{b.booking_number} · {b.customer.name}",
            description=f"Booking · {b.get_booking_type_display()} · pickup {b.pickup_date:%b %-d, %Y} · "
                        f"{b.get_status_display()}",
            link=reverse("admin:core_booking_change", args=[b.pk]), icon="event") for b in bookings]
    if user.has_perm("core.view_customerprofile"):
        customers = customer_search(term=term, limit=COMMAND_RESULTS_PER_MODEL)
        results += [SearchResult(
            title=f"{c.name} <{c.email}>", description=f"Customer · {c.total_bookings_count} bookings",
            link=reverse("admin:core_customerprofile_change", args=[c.pk]), icon="person") for c in customers]
    return results
