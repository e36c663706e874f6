"""A certificate checked against its building's requirements: pure, each failure a stable code + a sentence."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from core.documents.buildings import normalize_address

_SUFFIXES = {"inc", "incorporated", "llc", "pllc", "corp", "corporation", "co", "company", "ltd", "limited",
             "lp", "llp", "the"}
LIMITS = (
    ("general_each_occurrence", "min_general_each_occurrence", "general liability each occurrence"),
    ("general_aggregate", "min_general_aggregate", "general liability aggregate"),
    ("auto_combined_single", "min_auto_combined_single", "auto combined single limit"),
    ("umbrella_each_occurrence", "min_umbrella", "umbrella each occurrence"),
    ("workers_comp_each_accident", "min_workers_comp", "employer's liability each accident"),
)


@dataclass(frozen=True)
class Problem:
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


def normalize_name(name: str | None) -> str:
    """"The Beresford Condominium, Inc. c/o Orsid Realty Corp." → "beresford condominium orsid realty"."""
    text = (name or "").lower()
    text = re.sub(r"\bc\s*/\s*o\b|\bcare of\b", " ", text)
    text = re.sub(r"\bl\.\s*l\.\s*c\b\.?", "llc", text).replace("&", " and ")
    words = re.sub(r"[^a-z0-9 ]+", " ", text).split()
    return " ".join(w for w in words if w not in _SUFFIXES)


def normalize_full_address(address: str | None) -> str:
    """A one-line address, compared the way building addresses are (street words, ordinals, ZIP+4)."""
    text = address or ""
    zip_match = re.search(r"\b(\d{5})(?:-\d{4})?\s*$", text.strip())
    zip_code = zip_match.group(1) if zip_match else ""
    body = text[:zip_match.start()] if zip_match else text
    body = re.sub(r"\b(ny|new york|nj|ct)\b\.?\s*,?\s*$", "", body.strip().lower().rstrip(", "))
    return normalize_address(body, zip_code)


def _contains(haystack: str, needle: str) -> bool:
    return bool(needle) and f" {needle} " in f" {haystack} "


def validate_certificate(coi, building, *, move_date: dt.date | None, today: dt.date) -> list[Problem]:
    """Every way `coi` (a COI or anything with its field names) falls short of `building`'s requirements."""
    problems: list[Problem] = []
    missing = [label for field, label in (("holder_name", "certificate holder"),
                                          ("expiration_date", "policy expiration date"),
                                          ("general_each_occurrence", "general liability limit"))
               if getattr(coi, field) in (None, "")]
    if missing:  # nothing else can be judged yet: a person reads the certificate and enters them
        return [Problem("fields_missing", f"The certificate does not show: {', '.join(missing)}.")]
    if building is None:
        return problems
    if building.holder_name and coi.holder_name and (
            normalize_name(coi.holder_name) != normalize_name(building.holder_name)):
        problems.append(Problem("holder_name_mismatch",
                                f"The certificate holder is “{coi.holder_name}”; {building.name} requires "
                                f"“{building.holder_name}”."))
    if building.holder_address and coi.holder_address and (
            normalize_full_address(coi.holder_address) != normalize_full_address(building.holder_address)):
        problems.append(Problem("holder_address_mismatch",
                                f"The holder's address is “{coi.holder_address}”; it must be "
                                f"“{building.holder_address}”."))
    if building.additional_insureds:
        named = normalize_name(f"{coi.description_of_operations or ''} {coi.holder_name or ''}")
        absent = [n for n in building.additional_insureds if not _contains(named, normalize_name(n))]
        if not coi.additional_insured or absent:
            who = ", ".join(absent or building.additional_insureds)
            problems.append(Problem("additional_insured_missing",
                                    f"These must be named as additional insured: {who}."))
    for field, minimum_field, label in LIMITS:
        minimum = getattr(building, minimum_field)
        value = getattr(coi, field)
        if minimum and (value is None or Decimal(value) < minimum):
            shown = f"${Decimal(value):,.0f}" if value is not None else "not shown"
            problems.append(Problem(f"{field}_too_low",
                                    f"The {label} limit is {shown}; {building.name} requires ${minimum:,.0f}."))
    if move_date and coi.expiration_date and coi.expiration_date < move_date:
        problems.append(Problem("policy_expires_before_move",
                                f"The policy expires on {coi.expiration_date:%B %-d, %Y}, before the move on "
                                f"{move_date:%B %-d, %Y}."))
    if move_date and coi.effective_date and coi.effective_date > move_date:
        problems.append(Problem("policy_not_yet_effective",
                                f"The policy starts on {coi.effective_date:%B %-d, %Y}, after the move."))
    if coi.expiration_date and coi.expiration_date < today:
        problems.append(Problem("policy_expired", f"The policy expired on {coi.expiration_date:%B %-d, %Y}."))
    if building.requires_waiver_of_subrogation and not coi.waiver_of_subrogation:
        problems.append(Problem("waiver_of_subrogation_missing",
                                f"{building.name} requires a waiver of subrogation."))
    if building.max_certificate_age_days and coi.certificate_date and (
            (today - coi.certificate_date).days > building.max_certificate_age_days):
        problems.append(Problem("certificate_too_old",
                                f"The certificate is dated {coi.certificate_date:%B %-d, %Y}; {building.name} "
                                f"accepts certificates up to {building.max_certificate_age_days} days old."))
    return problems
