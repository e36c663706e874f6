"""Reads of customers that interfaces show."""

from django.db.models import Q

from core.customers.models import CustomerProfile


def customer_search(*, term: str, limit: int) -> list[CustomerProfile]:
    """Quick lookup by email prefix, name or phone (the console's Cmd+K)."""
    return list(CustomerProfile.objects.filter(Q(email__istartswith=term) | Q(name__icontains=term)
                                               | Q(phone__contains=term)).order_by("name")[:limit])
