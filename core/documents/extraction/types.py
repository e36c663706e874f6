"""The typed result of reading a certificate, and the value parsers every reader shares."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

MONEY_FIELDS = ("general_each_occurrence", "general_aggregate", "auto_combined_single", "umbrella_each_occurrence",
                "workers_comp_each_accident")
DATE_FIELDS = ("certificate_date", "effective_date", "expiration_date")
FLAG_FIELDS = ("additional_insured", "waiver_of_subrogation")
TEXT_FIELDS = ("insured_name", "insurer_name", "insurer_naic", "general_liability_policy", "holder_name",
               "holder_address", "description_of_operations")
FIELDS = TEXT_FIELDS[:4] + DATE_FIELDS + MONEY_FIELDS + FLAG_FIELDS + TEXT_FIELDS[4:]
# Without these a certificate cannot be validated at all: missing or doubtful → manual review.
ESSENTIAL = ("holder_name", "expiration_date", "general_each_occurrence")
REVIEW_BELOW = 0.80


class Kind:
    FILLABLE = "fillable"
    FLATTENED = "flattened"
    SCAN = "scan"


@dataclass(frozen=True)
class ExtractedField:
    value: Any
    confidence: float  # 0..1: how sure the reader is that `value` is what the certificate says


@dataclass
class ExtractionResult:
    kind: str
    fields: dict[str, ExtractedField] = field(default_factory=dict)
    reason: str = ""  # why a person has to read it (empty when the reader is confident)

    def value(self, name: str):
        found = self.fields.get(name)
        return found.value if found else None

    @property
    def needs_review(self) -> bool:
        return bool(self.reason) or any(
            self.value(name) is None or self.fields[name].confidence < REVIEW_BELOW for name in ESSENTIAL)

    def review_reasons(self) -> list[str]:
        reasons = [self.reason] if self.reason else []
        for name in ESSENTIAL:
            if self.value(name) is None:
                reasons.append(f"{name.replace('_', ' ')} not found")
            elif self.fields[name].confidence < REVIEW_BELOW:
                reasons.append(f"{name.replace('_', ' ')} read with low confidence")
        return reasons

    def as_json(self) -> dict:
        return {"kind": self.kind, "reason": self.reason, "needs_review": self.needs_review,
                "review_reasons": self.review_reasons(),
                "confidence": {k: round(v.confidence, 3) for k, v in self.fields.items()}}


def clean_text(text: str | None) -> str | None:
    text = re.sub(r"\s+", " ", text or "").strip()
    return text or None


def parse_money(text: str | None) -> Decimal | None:
    """"$ 1,000,000" / "1.000.000" / "$1M" → Decimal; OCR's O/o/l in digit runs are read as 0/0/1."""
    if not text:
        return None
    grouped = re.findall(r"\d{1,3}(?:[,.]\d{3})+", text)
    if grouped:  # "$ 1,000,000" read as "4 1,000,000": the well-grouped number is the amount
        text = grouped[-1]
    text = text.upper().replace(" ", "")
    million = re.fullmatch(r"\$?(\d+(?:\.\d+)?)M", text)
    if million:
        return Decimal(million.group(1)) * 1_000_000
    text = re.sub(r"(?<=[\d,.])[O]|[O](?=[\d,.])", "0", text)
    text = re.sub(r"(?<=[\d,.])[LI]|[LI](?=[\d,.])", "1", text)
    digits = re.sub(r"[^\d]", "", re.sub(r"\.\d{2}$", "", text))
    try:
        return Decimal(digits) if digits else None
    except InvalidOperation:
        return None


def parse_date(text: str | None) -> dt.date | None:
    if not text:
        return None
    match = re.search(r"(\d{1,2})\s*[/\-.]\s*(\d{1,2})\s*[/\-.]\s*(\d{4}|\d{2})", text.replace("O", "0"))
    if not match:
        return None
    month, day, year = (int(g) for g in match.groups())
    if year < 100:
        year += 2000
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def parse_flag(text: str | None) -> bool | None:
    if text is None:
        return None
    text = text.strip().upper()
    if text in {"Y", "YES", "X", "TRUE", "ON", "/YES", "/ON", "1"}:
        return True
    if text in {"N", "NO", "", "FALSE", "OFF", "/OFF", "0"}:
        return False
    return None


def parse(name: str, text: str | None):
    if name in MONEY_FIELDS:
        return parse_money(text)
    if name in DATE_FIELDS:
        return parse_date(text)
    if name in FLAG_FIELDS:
        return parse_flag(text)
    return clean_text(text)
