"""The booking list's row actions cell, rendered once per page instead of once per row.

Unfold draws the cell (a button and its dropdown of links) with `unfold/helpers/actions_row.html` for every row;
the links differ only by the booking's id. So the cell is rendered once with a placeholder id and each row gets
a copy with its own id put in, its whitespace collapsed (the template's indentation was most of its bytes).
"""

from __future__ import annotations

import re
import uuid

from django import template
from django.template.loader import get_template
from django.utils.safestring import mark_safe

register = template.Library()

PLACEHOLDER = uuid.UUID("00000000-0000-4000-8000-000000000000")
_CACHE_KEY = "ops_booking_row_actions"


def _compact(html: str) -> str:
    """Whitespace between tags dropped and runs of it collapsed (nothing here is inside <pre> or <textarea>)."""
    return re.sub(r"\s{2,}", " ", re.sub(r">\s+<", "><", html)).strip()


@register.simple_tag(takes_context=True)
def booking_row_actions(context, actions, pk):
    """Unfold's row actions cell for the booking `pk` (a UUID), from the page's one rendering of it."""
    if not actions:
        return ""
    cache = context.render_context
    if _CACHE_KEY not in cache:
        html = get_template("unfold/helpers/actions_row.html").render(
            {"actions": actions, "instance_pk": str(PLACEHOLDER)}, request=context.get("request"))
        cache[_CACHE_KEY] = _compact(html)
    booking_id = pk if isinstance(pk, uuid.UUID) else uuid.UUID(str(pk))
    # the template uses the id with dashes (URLs) and without (Alpine variable names)
    html = cache[_CACHE_KEY].replace(str(PLACEHOLDER), str(booking_id)).replace(PLACEHOLDER.hex, booking_id.hex)
    return mark_safe(html)  # noqa: S308  (Unfold's escaped template output; a UUID put in)
