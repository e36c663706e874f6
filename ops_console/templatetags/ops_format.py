"""Template filters over ops_console.formatting: {% load ops_format %} then |money, |cents, |local_time, |code."""

from django import template
from django.utils.http import url_has_allowed_host_and_scheme

from ops_console import formatting

register = template.Library()

register.filter("money", formatting.money)
register.filter("cents", formatting.cents)
register.filter("local_time", formatting.local_datetime)
register.filter("code", formatting.humanize_code)


@register.filter
def same_site_referer(request) -> str:
    """The page the user came from, when it is on this site (the 403 page's way back); else ""."""
    referer = request.META.get("HTTP_REFERER", "")
    ok = url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return referer if ok else ""
