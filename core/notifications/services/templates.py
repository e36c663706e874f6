"""Email templates: validation, saving with a version, preview, and a test send."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.template import TemplateSyntaxError
from django.template.base import FilterExpression, Node, NodeList
from django.template.defaulttags import AutoEscapeControlNode, FilterNode

from core.common.audit import set_actor
from core.notifications import rendering
from core.notifications.errors import (
    NoRecipient,
    TemplateInvalid,
)
from core.notifications.models import (
    Channel,
    EmailTemplate,
    Notification,
    NotificationType,
)
from core.notifications.services.creating import notification_create_once
from core.notifications.services.sending import notification_deliver


def email_template_validate(*, template: EmailTemplate) -> list[rendering.TemplateProblem]:
    """Everything wrong with a template: syntax, forbidden tags, variables its type does not provide."""
    allowed = rendering.PROVIDED_VARIABLES.get(template.name)
    if allowed is None:
        return [rendering.TemplateProblem(
            "name", f"No notification type is called {template.name!r}; use one of "
                    f"{', '.join(sorted(rendering.PROVIDED_VARIABLES))}.")]
    problems = []
    declared = set((template.available_variables or {}) if isinstance(template.available_variables, dict) else ())
    if extra := sorted(declared - allowed):
        problems.append(rendering.TemplateProblem(
            "available_variables", f"{', '.join(extra)} {'is' if len(extra) == 1 else 'are'} not provided by "
                                   f"{template.name}; it provides {', '.join(sorted(allowed))}."))
    for field in rendering.TEMPLATE_FIELDS:
        source = getattr(template, field) or ""
        if not source.strip():
            if field != "sms_template":
                problems.append(rendering.TemplateProblem(field, "This template is empty."))
            continue
        problems.extend(rendering.check_source(field, source, allowed))
        problems.extend(escape_bypasses(field, source))
    if not problems:
        try:
            preview = email_template_preview(template=template)
        except Exception as exc:  # a filter raising on the test data: show it, don't 500
            problems.append(rendering.TemplateProblem("test_data", f"The preview failed: {exc}"))
        else:
            if len(preview["sms"]) > 320:
                problems.append(rendering.TemplateProblem(
                    "sms_template", f"The SMS renders to {len(preview['sms'])} characters; keep it under 320."))
    return problems


# Filters whose output the HTML rendering trusts as markup: a customer's name through them reaches the email raw.
_UNESCAPING_FILTERS = frozenset({"safe", "safeseq"})
_UNESCAPED = ("Templates may not turn HTML escaping off ({construct}): a customer's name or address would be "
              "put into the email as markup. Remove it; the HTML version escapes every variable by itself.")


def _filter_expressions(value, depth: int = 0):
    """Every FilterExpression held by a node's attributes (if-conditions, with/for bindings, filter tags...)."""
    if depth > 20 or value is None or isinstance(value, str | int | float | bool | Node | NodeList):
        return  # child nodes are visited on their own (get_nodes_by_type)
    if isinstance(value, FilterExpression):
        yield value
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from _filter_expressions(item, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _filter_expressions(item, depth + 1)
    elif hasattr(value, "__dict__"):
        for key, item in vars(value).items():
            if key not in ("token", "origin", "template") and not key.startswith("_"):
                yield from _filter_expressions(item, depth + 1)


def escape_bypasses(field: str, source: str) -> list[rendering.TemplateProblem]:
    """{% autoescape off %}, |safe, |safeseq and {% filter safe %}, wherever they stand (nested, in conditions).

    Staff templates load no tag library ({% load %} is refused), so Django's builtins are all there is to check.
    """
    try:
        compiled = rendering.compile_template(source)
    except TemplateSyntaxError:
        return []  # check_source reports it
    constructs: dict[str, None] = {}
    for node in compiled.nodelist.get_nodes_by_type(Node):
        if isinstance(node, AutoEscapeControlNode) and not node.setting:
            constructs["{% autoescape off %}"] = None
        for key, value in vars(node).items():
            if key in ("token", "origin") or key.startswith("_"):
                continue
            for expression in _filter_expressions(value):
                for func, _args in expression.filters:
                    if func.__name__ in _UNESCAPING_FILTERS:
                        name = func.__name__
                        constructs[f"{{% filter {name} %}}" if isinstance(node, FilterNode) else f"|{name}"] = None
    return [rendering.TemplateProblem(field, _UNESCAPED.format(construct=", ".join(constructs)))] if constructs else []


def email_template_form_errors(*, template: EmailTemplate) -> dict[str, list[str]]:
    """email_template_validate grouped by field, for a form's add_error."""
    errors: dict[str, list[str]] = {}
    for problem in email_template_validate(template=template):
        errors.setdefault(problem.field, []).append(problem.message)
    return errors


def email_template_save(*, template: EmailTemplate, actor) -> EmailTemplate:
    """Validate and save a (new or edited) template; its version goes up when its content changes."""
    errors = email_template_form_errors(template=template)
    if errors:
        raise TemplateInvalid("The template has errors: " + "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in errors.items()), fields=errors)
    with transaction.atomic():
        if template.pk:
            current = EmailTemplate.objects.select_for_update().filter(pk=template.pk).first()
            if current is not None and any(getattr(current, f) != getattr(template, f)
                                           for f in rendering.TEMPLATE_FIELDS):
                template.version = current.version + 1
        set_actor(template, actor)
        template.save()
    return template


def email_template_preview(*, template: EmailTemplate) -> dict[str, str]:
    """The template rendered with its test data: {subject, html, text, sms}."""
    return rendering.render_template(template, rendering.coerce_test_data(template.test_data)).as_dict()


def email_template_send_test(*, template: EmailTemplate, to: str, actor) -> Notification:
    """Send the template rendered with its test data to `to` (a staff address) through the real email path."""
    if not to:
        raise NoRecipient("Your user has no email address.")
    rendered = rendering.render_template(template, rendering.coerce_test_data(template.test_data))
    notification_type = template.name if template.name in NotificationType.values else NotificationType.CUSTOM
    notification, _new = notification_create_once(
        dedupe_key=f"test:{template.pk}:{uuid.uuid4().hex}", channel=Channel.EMAIL, actor=actor,
        notification_type=notification_type, recipients=[to], subject=f"[TEST] {rendered.subject}"[:255],
        body_text=rendered.text, body_html=rendered.html, template=template, template_version=template.version,
        max_retries=0)
    return notification_deliver(notification_id=notification.pk)
