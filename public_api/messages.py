"""Pydantic's validation errors, said the way a person would say them, keyed by field path.

Pydantic writes for programmers ("Value error, …", "Value should have at most 2 items after validation, not
8"); the marketing site shows `fields` to customers, so every error type we can meet gets a sentence of ours.
"""

_DATE = "Use a real date as YYYY-MM-DD, e.g. 2027-03-10."
_DATETIME = "Use a date and time as ISO 8601, e.g. 2027-03-10T09:30:00-05:00."
_WHOLE_NUMBER = "Use a whole number."

_MESSAGES = {
    "missing": "This field is required.",
    "string_type": "Use text here.",
    "string_too_short": "Use at least {min_length} characters.",
    "string_too_long": "Use at most {max_length} characters.",
    "string_unicode": "Use valid Unicode text.",
    "int_type": _WHOLE_NUMBER,
    "int_parsing": _WHOLE_NUMBER,
    "int_from_float": _WHOLE_NUMBER,
    "int_parsing_size": "This number is too large.",
    "bool_type": "Use true or false.",
    "bool_parsing": "Use true or false.",
    "greater_than": "Use a number above {gt}.",
    "greater_than_equal": "Use {ge} or more.",
    "less_than": "Use a number below {lt}.",
    "less_than_equal": "Use {le} or less.",
    "literal_error": "Use one of {expected}.",
    "enum": "Use one of {expected}.",
    "date_type": _DATE,
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "datetime_type": _DATETIME,
    "datetime_parsing": _DATETIME,
    "datetime_from_date_parsing": _DATETIME,
    "uuid_type": "Use the id exactly as the API returned it.",
    "uuid_parsing": "Use the id exactly as the API returned it.",
    "model_type": "Use a JSON object here.",
    "model_attributes_type": "Use a JSON object here.",
    "dict_type": "Use a JSON object here.",
    "list_type": "Use a JSON list here.",
    "json_invalid": "Send valid JSON.",
    "extra_forbidden": "This field is not accepted.",
}

# ninja prefixes each location with where the value came from; the site only cares about the field.
_TRANSPORT = {"body", "query", "path", "header", "payload", "data", "form", "cookie"}


def field_path(loc) -> str:
    parts = [str(p) for p in loc]
    while parts and parts[0] in _TRANSPORT:
        parts = parts[1:]
    return ".".join(parts) or "__all__"


def human_message(error: dict) -> str:
    """One pydantic error (as ninja hands it over) as a sentence for a person."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind in ("value_error", "assertion_error") and ctx.get("error"):
        return str(ctx["error"])  # our own validators' sentences, without pydantic's "Value error, " prefix
    if kind in ("too_long", "too_short"):
        # A list's item count, or the length of a string checked after one of our validators ran.
        unit = "characters" if ctx.get("field_type") == "Value" else "items"
        bound = "at most {max_length}" if kind == "too_long" else "at least {min_length}"
        return f"Use {bound.format(**ctx)} {unit}."
    template = _MESSAGES.get(kind)
    if template is None:
        return str(error.get("msg") or "This value is not valid.")
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return template


def field_errors(errors: list[dict]) -> dict[str, list[str]]:
    """Every problem of the request at once, by field path (`customer.email`, `specialty_items.0.quantity`)."""
    fields: dict[str, list[str]] = {}
    for error in errors:
        message = human_message(error)
        messages = fields.setdefault(field_path(error.get("loc", ())), [])
        if message not in messages:
            messages.append(message)
    return fields
