"""The one spreadsheet-formula escaping every export uses (console resources, the streamed CSV, report files).

A text cell a spreadsheet would evaluate (OWASP "CSV injection") gets a leading apostrophe, which makes it
literal text. Excel and LibreOffice also evaluate a formula behind leading blanks (" =1+1", "\\t=1",
"\\r\\n@SUM(A1)"), so the trigger is looked for after any leading whitespace, not only in the first character.
"""

from __future__ import annotations

import re

# What starts a formula, including the full-width forms some spreadsheets also honour; a leading tab, CR or
# LF is itself a trigger (OWASP's list), whatever follows it.
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
# Plain numbers ("+12125550123", "-5", "12.50") cannot carry a formula; leave them readable.
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?\Z")


def _starts_formula(value: str) -> bool:
    if value[:1] in FORMULA_TRIGGERS:
        return True
    head = value.lstrip()
    return bool(head) and head[0] in FORMULA_TRIGGERS


def escape_formula(value: str) -> str:
    """Prefix a text cell that a spreadsheet would evaluate with an apostrophe."""
    if value and _starts_formula(value) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def unescape_formula(value: str) -> str:
    """Undo `escape_formula`, so that re-importing an exported file changes nothing."""
    if len(value) > 1 and value[0] == "'" and _starts_formula(value[1:]):
        return value[1:]
    return value
