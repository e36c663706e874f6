"""Spreadsheet-formula escaping lives in core (report files are written by core jobs too); kept for imports."""

from core.common.formulas import FORMULA_TRIGGERS, escape_formula, unescape_formula

__all__ = ["FORMULA_TRIGGERS", "escape_formula", "unescape_formula"]
