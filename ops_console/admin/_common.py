"""Helpers shared by the console's admin modules: action pages, safe redirects."""

from __future__ import annotations

import functools

from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from unfold.contrib.filters.admin import RangeDateTimeFilter
from unfold.utils import display_for_label, parse_datetime_str

from ops_console.formatting import cents, money  # noqa: F401  (the admin modules' one formatter)

STATUS_COLOURS = {
    "pending": "warning", "paid": "info", "scheduled": "info", "in_progress": "primary",
    "completed": "success", "cancelled": "danger",
}
PAYMENT_COLOURS = {
    "unpaid": "warning", "processing": "info", "paid": "success", "partially_refunded": "warning",
    "balance_due": "warning",
    "refunded": "danger", "failed": "danger",
    # Payment / Refund / Notification statuses
    "pending": "warning", "succeeded": "success", "canceled": "danger", "sent": "info", "delivered": "success",
    "opened": "success", "bounced": "danger", "suppressed": "warning", "cancelled": "danger", "sending": "info",
}
PALETTES = {"status": STATUS_COLOURS, "payment": PAYMENT_COLOURS}


@functools.lru_cache(maxsize=256)
def badge(palette: str, value: str, text: str) -> str:
    """Unfold's coloured label (what @display(label=...) draws), rendered once per status and label instead of
    once per list row: the same HTML, without a template render for each cell."""
    return display_for_label((value, text), "-", PALETTES[palette])


def safe_next(request, fallback: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                                     require_https=request.is_secure()):
        return candidate
    return fallback


def render_action_page(request, model_admin, *, title, form, objects=(), ids=(), next_url="", action_url="",
                       description="", submit_label="Confirm", objects_heading="", disabled_reason=""):
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": title,
        "form": form,
        "objects": objects,
        "ids": ids,
        "next": next_url,
        "action_url": action_url,
        "description": description,
        "submit_label": submit_label,
        "objects_heading": objects_heading,
        "disabled_reason": disabled_reason,
    }
    return TemplateResponse(request, "ops_console/action_form.html", context)


def html_table(headers: list[str], rows: list[list], *, empty: str = "None yet.") -> str:
    if not rows:
        return format_html('<p class="text-subtle">{}</p>', empty)
    head = format_html_join("", '<th class="px-2 py-1 text-left font-semibold">{}</th>', ((h,) for h in headers))
    body = format_html_join(
        "", "<tr>{}</tr>",
        ((format_html_join("", '<td class="px-2 py-1 border-t border-base-200 dark:border-base-800">{}</td>',
                           ((c,) for c in row)),) for row in rows),
    )
    return format_html('<table class="w-full text-sm"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
                       head, body)


class AwareRangeDateTimeFilter(RangeDateTimeFilter):
    """Unfold's date-time range, read as New York wall time (the stock filter passes naive datetimes)."""

    def queryset(self, request, queryset):
        filters = {}
        for side, lookup in (("from", "gte"), ("to", "lte")):
            day = self.used_parameters.get(f"{self.parameter_name}_{side}_0")
            time = self.used_parameters.get(f"{self.parameter_name}_{side}_1") or ("00:00" if side == "from"
                                                                                   else "23:59:59")
            if day in (None, ""):
                continue
            value = parse_datetime_str(f"{day} {time}")
            if value is None:
                return None
            filters[f"{self.parameter_name}__{lookup}"] = timezone.make_aware(value)
        return queryset.filter(**filters)
