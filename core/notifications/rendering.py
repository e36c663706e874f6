"""Rendering and checking staff-edited templates (no ORM writes).

Subjects, plain text and SMS render with autoescape OFF (an "&" in an address must stay "&"); HTML renders
with autoescape ON. Templates may only use the variables their notification type provides, and may not
reach outside themselves ({% include %}, {% extends %}, {% load %}, {% debug %}).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import FilterExpression, Node, NodeList, TextNode, Variable
from django.utils.dateparse import parse_date, parse_datetime

_COMMON = ("customer_name", "booking_number", "manage_url", "support_phone", "support_email")
_BOOKING = (*_COMMON, "booking_type_display", "pickup_date", "pickup_window_display")

# What each notification type's context provides (services.booking_context builds exactly these).
PROVIDED_VARIABLES: dict[str, frozenset[str]] = {
    "booking_confirmation": frozenset((*_BOOKING, "pickup_address", "dropoff_address", "total_price",
                                       "coi_required")),
    "payment_confirmation": frozenset((*_BOOKING, "amount_paid", "total_price")),
    "booking_reminder": frozenset((*_BOOKING, "pickup_address", "dropoff_address", "coi_required")),
    "tracking_update": frozenset((*_COMMON, "status_display", "tracking_url", "dropoff_address")),
    "delivery_confirmation": frozenset((*_COMMON, "booking_type_display", "pickup_date", "dropoff_address")),
    "coi_reminder": frozenset((*_COMMON, "pickup_date", "pickup_window_display", "pickup_address")),
    "custom": frozenset((*_COMMON, "subject", "body")),
}

TEMPLATE_FIELDS = ("subject_template", "html_template", "text_template", "sms_template")
_FORBIDDEN_TAGS = {"IncludeNode": "include", "ExtendsNode": "extends", "LoadNode": "load",
                   "DebugNode": "debug", "SsiNode": "ssi"}
# Names a template may use although no context provides them (set by the template language itself).
_BUILTIN_NAMES = frozenset({"forloop", "block"})

# One engine for staff templates: no app loaders, no libraries beyond the builtins, strings only.
_engine = Engine(debug=False, libraries={}, loaders=[], string_if_invalid="")


@dataclass(frozen=True)
class TemplateProblem:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str
    sms: str

    def as_dict(self) -> dict[str, str]:
        return {"subject": self.subject, "html": self.html, "text": self.text, "sms": self.sms}


def compile_template(source: str):
    return _engine.from_string(source)


def _variables(obj, bound: set[str], found: dict[str, None], depth: int = 0) -> None:
    """Collect the root names of every variable a compiled template looks up (minus loop/with names)."""
    if depth > 60 or obj is None or isinstance(obj, str | int | float | bool):
        return
    if isinstance(obj, Variable):
        if obj.lookups and obj.lookups[0] not in bound:
            found[obj.lookups[0]] = None
        return
    if isinstance(obj, FilterExpression):
        _variables(obj.var, bound, found, depth + 1)
        for _func, args in obj.filters:
            for is_var, arg in args:
                if is_var:
                    _variables(arg, bound, found, depth + 1)
        return
    if isinstance(obj, list | tuple | NodeList):
        for item in obj:
            _variables(item, bound, found, depth + 1)
        return
    if isinstance(obj, dict):
        for value in obj.values():
            _variables(value, bound, found, depth + 1)
        return
    if isinstance(obj, Node) or hasattr(obj, "__dict__"):
        names = dict(vars(obj))
        inner = set(bound)
        inner.update(names.get("loopvars") or ())  # {% for x in xs %}
        if isinstance(names.get("extra_context"), dict):  # {% with a=b %}
            inner.update(names["extra_context"])
        if names.get("var_name"):  # {% ... as name %}
            inner.add(names["var_name"])
        for key, value in names.items():
            if key in ("token", "origin", "template", "func") or key.startswith("_"):
                continue
            _variables(value, inner if key != "sequence" else bound, found, depth + 1)


def check_source(field: str, source: str, allowed: frozenset[str]) -> list[TemplateProblem]:
    """Syntax, forbidden tags and unknown variables of one template string."""
    try:
        compiled = compile_template(source)
    except TemplateSyntaxError as exc:
        return [TemplateProblem(field, f"Template syntax error: {exc}")]
    problems = []
    for node in compiled.nodelist.get_nodes_by_type(Node):
        tag = _FORBIDDEN_TAGS.get(type(node).__name__)
        if tag:
            problems.append(TemplateProblem(field, f"The {{% {tag} %}} tag is not allowed in email templates."))
    # Django renders an unclosed "{{ name" or "{% tag" as literal text; in a customer email that is a typo.
    for node in compiled.nodelist.get_nodes_by_type(TextNode):
        if any(mark in node.s for mark in ("{{", "}}", "{%", "%}")):
            snippet = next(ln for ln in node.s.splitlines() if any(m in ln for m in ("{{", "}}", "{%", "%}")))
            problems.append(TemplateProblem(field, f"Unbalanced template braces near: {snippet.strip()[:60]!r}"))
            break
    found: dict[str, None] = {}
    _variables(compiled.nodelist, set(_BUILTIN_NAMES), found)
    unknown = [name for name in found if name not in allowed]
    if unknown:
        problems.append(TemplateProblem(
            field,
            f"Unknown variable{'s' if len(unknown) > 1 else ''} {', '.join(sorted(unknown))}: this "
            f"notification provides {', '.join(sorted(allowed))}.",
        ))
    return problems


def coerce_test_data(data: dict) -> dict:
    """Template test data comes from JSON: turn ISO date strings back into dates so |date filters work."""
    out = {}
    for key, value in (data or {}).items():
        if isinstance(value, str) and (key.endswith("_date") or key.endswith("_at")):
            parsed = parse_datetime(value) if "T" in value else None
            parsed = parsed or parse_date(value)
            out[key] = parsed if isinstance(parsed, dt.date) else value
        else:
            out[key] = value
    return out


def render(*, subject: str, html: str, text: str, sms: str, context: dict) -> Rendered:
    plain = Context(context, autoescape=False)
    escaped = Context(context, autoescape=True)
    return Rendered(
        # A subject is one header line: collapse whatever newlines a template produced.
        subject=" ".join(compile_template(subject).render(plain).split()),
        html=compile_template(html).render(escaped) if html else "",
        text=compile_template(text).render(plain) if text else "",
        sms=" ".join(compile_template(sms).render(plain).split()) if sms else "",
    )


def render_template(template, context: dict) -> Rendered:
    return render(subject=template.subject_template, html=template.html_template, text=template.text_template,
                  sms=template.sms_template, context=context)
