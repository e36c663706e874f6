"""Fillable certificates: AcroForm fields read with pypdf, mapped by what the field means (its name in the
2016 ACORD naming, or its tooltip, which is the printed label on older editions), never by one exact name."""

from __future__ import annotations

import re

from core.documents.extraction.types import FIELDS, ExtractedField, ExtractionResult, Kind, parse

# Patterns on "<normalised name> <normalised tooltip>" (lowercase letters and digits only). First match wins.
PATTERNS: dict[str, list[str]] = {
    "certificate_date": [r"completiondate", r"\bdatemmddyyyy\b", r"certificatedate"],
    "insured_name": [r"namedinsuredfullname", r"\binsured\b$", r"\binsuredname\b"],
    "insurer_naic": [r"insurernaiccodea", r"naic.*insurera"],
    "insurer_name": [r"insurerfullnamea", r"\binsurera\b"],
    "additional_insured": [r"generalliabilityadditionalinsured", r"addlinsd.*generalliability"],
    "waiver_of_subrogation": [r"generalliabilitysubrogationwaived", r"subrwvd.*generalliability"],
    "general_liability_policy": [r"generalliabilitypolicynumber", r"policynumber.*generalliability"],
    "effective_date": [r"generalliabilityeffectivedate", r"policyeff.*generalliability"],
    "expiration_date": [r"generalliabilityexpirationdate", r"policyexp.*generalliability"],
    "general_each_occurrence": [r"^generalliabilityeachoccurrence", r"generalliabilityeachoccurrence$"],
    "general_aggregate": [r"generalliabilitygeneralaggregate", r"\bgeneralaggregate\b$"],
    "auto_combined_single": [r"combinedsinglelimit"],
    "umbrella_each_occurrence": [r"umbrella.*eachoccurrence"],
    "workers_comp_each_accident": [r"employersliability.*eachaccident", r"\beleachaccident\b"],
    "holder_name": [r"certificateholderfullname", r"\bcertificateholder\b$"],
    "holder_address": [r"certificateholdermailingaddress", r"certificateholder(address|citystatezip)"],
    "description_of_operations": [r"remarktext", r"descriptionofoperations"],
}
JOINED = {"holder_address": ", ", "description_of_operations": " "}  # several form fields make one value


def _norm(text) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text or "").lower())


def _name_key(qualified: str) -> str:
    # "F[0].P1[0].Insurer_FullName_A[0]" → "insurerfullnamea"
    last = re.sub(r"\[\d+\]", "", qualified).rsplit(".", 1)[-1]
    return _norm(last)


def classify(name: str, tooltip: str) -> str | None:
    keys = (_name_key(name), _norm(tooltip))
    spaced = " ".join(k for k in keys if k)
    for field, patterns in PATTERNS.items():
        for pattern in patterns:
            if any(re.search(pattern, k) for k in keys) or re.search(pattern, spaced):
                return field
    return None


def _widgets(reader):
    """(qualified name, value, tooltip, (top, x)) of every filled widget, in reading order on the page."""
    found = []
    for page_number, page in enumerate(reader.pages):
        for ref in page.get("/Annots") or []:
            annot = ref.get_object()
            if annot.get("/Subtype") != "/Widget":
                continue
            node, names = annot, []
            while node is not None:  # a kid widget carries its name and value on its parent
                if "/T" in node:
                    names.append(str(node["/T"]))
                node = node.get("/Parent").get_object() if node.get("/Parent") is not None else None
            merged = {**({} if annot.get("/Parent") is None else dict(annot["/Parent"].get_object())),
                      **dict(annot)}
            value = merged.get("/V")
            if value is None or str(value).strip() == "":
                continue
            rect = [float(v) for v in annot.get("/Rect", [0, 0, 0, 0])]
            found.append((".".join(reversed(names)), str(value), str(merged.get("/TU", "")),
                          (page_number, -max(rect[1], rect[3]), min(rect[0], rect[2]))))
    return sorted(found, key=lambda w: w[3])


def read_form_fields(reader) -> ExtractionResult | None:
    """The certificate's fields from its AcroForm, or None when the PDF has no filled form to read."""
    texts: dict[str, list[str]] = {}
    for qualified, value, tooltip, _position in _widgets(reader):
        field = classify(qualified, tooltip)
        if field is not None:
            texts.setdefault(field, []).append(value.strip())
    if len(texts) < 4:  # an empty or unrelated form: read the page instead
        return None
    result = ExtractionResult(kind=Kind.FILLABLE)
    for field in FIELDS:
        if field in texts:
            value = parse(field, JOINED.get(field, " ").join(texts[field]))
            result.fields[field] = ExtractedField(value, 0.99 if value is not None else 0.0)
    return result
