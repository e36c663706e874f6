"""Reading an ACORD 25 page from positioned words (pdfplumber's or Tesseract's), by the printed labels.

Coordinates are points from the top-left of a letter page. Values are found where the form puts them relative
to their label: to its right, in the lines below it, or in a table cell (row label × column header).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from core.documents.extraction.types import FIELDS, ExtractedField, ExtractionResult, parse


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    conf: float = 100.0  # Tesseract's 0–100; text PDFs are certain

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


@dataclass(frozen=True)
class Label:
    words: tuple[Word, ...]
    score: float

    x0 = property(lambda self: self.words[0].x0)
    x1 = property(lambda self: self.words[-1].x1)
    top = property(lambda self: min(w.top for w in self.words))
    bottom = property(lambda self: max(w.bottom for w in self.words))
    middle = property(lambda self: (self.top + self.bottom) / 2)


def _token(text: str) -> str:
    return re.sub(r"[^A-Z0-9#]", "", text.upper())


def lines(words: list[Word], *, gap: float = 12.0) -> list[list[Word]]:
    """Words grouped into segments: same baseline band, split where the horizontal gap is wide (columns)."""
    # Left to right, each word joins the row whose last word sits level with it: a row follows a slightly
    # rotated scan's slope instead of being cut where it drifts past a fixed band.
    rows: list[list[Word]] = []
    for word in sorted(words, key=lambda w: (w.x0, w.middle)):
        tolerance = max(2.5, (word.bottom - word.top) * 0.45)
        candidates = [row for row in rows if row[-1].x1 <= word.x0 + 2
                      and abs(row[-1].middle - word.middle) <= tolerance]
        if candidates:
            min(candidates, key=lambda row: abs(row[-1].middle - word.middle)).append(word)
        else:
            rows.append([word])
    rows.sort(key=lambda row: (row[0].middle, row[0].x0))
    segments = []
    for row in rows:
        current = [row[0]]
        for word in row[1:]:
            if word.x0 - current[-1].x1 > gap:
                segments.append(current)
                current = [word]
            else:
                current.append(word)
        segments.append(current)
    return segments


class Page:
    def __init__(self, words: list[Word]):
        self.words = [w for w in words if _token(w.text) or w.text.strip() in {"$"}]
        self.segments = lines(self.words)

    def find(self, label: str, *, whole: bool = False) -> list[Label]:
        """Every place `label` is printed, best match first. Fuzzy on the letters without spaces, because OCR
        misreads letters and joins or splits words ("ADDLINSD", "OMBINED")."""
        wanted = "".join(t for t in (_token(p) for p in label.split()) if t)
        count = len([p for p in label.split() if _token(p)])
        found = []
        for segment in self.segments:
            tokens = [(w, _token(w.text)) for w in segment]
            tokens = [(w, t) for w, t in tokens if t]
            starts = range(len(tokens)) if not whole else range(1)
            for start in starts:
                for size in range(max(1, count - 2), count + 2):
                    window = tokens[start:start + size]
                    if len(window) < size or (whole and len(tokens) != size):
                        continue
                    score = difflib.SequenceMatcher(None, "".join(t for _w, t in window), wanted).ratio()
                    if score >= 0.8:
                        found.append(Label(tuple(w for w, _t in window), score))
        found.sort(key=lambda lab: (-lab.score, lab.top))
        # one label per place: the best-scoring window at each starting word
        seen, unique = set(), []
        for lab in found:
            if id(lab.words[0]) not in seen:
                seen.add(id(lab.words[0]))
                unique.append(lab)
        return unique

    def first(self, label: str, *, near: float | None = None, whole: bool = False) -> Label | None:
        found = self.find(label, whole=whole)
        if near is not None:
            found.sort(key=lambda lab: (abs(lab.middle - near), -lab.score))
        return found[0] if found else None

    def right_of(self, label: Label, *, until: float = 10_000) -> list[Word]:
        return [w for w in self.words if abs(w.middle - label.middle) <= 4 and label.x1 + 1 < w.x0 < until]

    def below(self, label: Label, *, until_x: float = 10_000, max_lines: int = 6, stop: tuple[str, ...] = ()
              ) -> list[list[Word]]:
        stops = [lab.top for name in stop for lab in self.find(name, whole=True) if lab.top > label.bottom]
        limit = min(stops, default=10_000)
        found, last = [], label.bottom
        for segment in sorted(self.segments, key=lambda s: s[0].top):
            if segment[0].top <= label.bottom or segment[0].top >= limit:
                continue
            if not (label.x0 - 8 <= segment[0].x0 < until_x):
                continue
            if segment[0].top - last > 22 or len(found) >= max_lines:
                break
            found.append([w for w in segment if w.x0 < until_x])
            last = segment[0].bottom
        return found

    def cell(self, row: Label, column: Label, headers: list[Label]) -> list[Word]:
        right = min((h.x0 for h in headers if h.x0 > column.x0 + 1), default=column.x0 + 120)
        return [w for w in self.words
                if abs(w.middle - row.middle) <= 5 and column.x0 - 6 <= w.x0 < right - 6]


def _field(words: list[Word], name: str, label: Label | None, *, certain: float, text: str | None = None
           ) -> ExtractedField | None:
    if label is None or not words:
        return None
    value = parse(name, text if text is not None else " ".join(w.text for w in words))
    if value is None:
        return ExtractedField(None, 0.0)
    return ExtractedField(value, round(certain * label.score * min(w.conf for w in words) / 100, 3))


def read_page(words: list[Word], *, kind: str, certain: float) -> ExtractionResult:
    """Every field we can find on an ACORD 25 page; `certain` caps confidence for the kind of source."""
    page = Page(words)
    result = ExtractionResult(kind=kind)

    def put(name: str, found: list[Word], label: Label | None, text: str | None = None) -> None:
        extracted = _field(found, name, label, certain=certain, text=text)
        if extracted is not None:
            result.fields[name] = extracted

    date_label = page.first("DATE (MM/DD/YYYY)")
    if date_label:
        put("certificate_date", (page.below(date_label, max_lines=1) or [[]])[0], date_label)
    insured = page.first("INSURED", whole=True)
    if insured:
        put("insured_name", (page.below(insured, until_x=insured.x0 + 260, max_lines=1) or [[]])[0], insured)
    naic = page.first("NAIC #")
    insurer = page.first("INSURER A")
    if insurer:
        naic_x = naic.x0 - 10 if naic else 10_000
        put("insurer_name", page.right_of(insurer, until=naic_x), insurer)
        put("insurer_naic", [w for w in page.right_of(insurer) if w.x0 >= naic_x], insurer)
    _coverages(page, put)
    description = page.first("DESCRIPTION OF OPERATIONS")
    if description:
        found = page.below(description, stop=("CERTIFICATE HOLDER", "CANCELLATION"))
        put("description_of_operations", [w for line in found for w in line], description)
    holder = page.first("CERTIFICATE HOLDER", whole=True)
    if holder:
        cancellation = page.first("CANCELLATION")
        found = page.below(holder, until_x=cancellation.x0 - 5 if cancellation else 10_000, max_lines=4)
        if found:
            put("holder_name", found[0], holder)
            if len(found) > 1:
                put("holder_address", [w for line in found[1:] for w in line], holder,
                    text=", ".join(" ".join(w.text for w in line) for line in found[1:]))
    _flags_from_remarks(result)
    result.fields = {name: result.fields[name] for name in FIELDS if name in result.fields}
    return result


def _flags_from_remarks(result: ExtractionResult) -> None:
    """A Y/N box OCR could not read: the remarks usually say it in words (read with less confidence)."""
    remarks = (result.value("description_of_operations") or "").lower()
    for name, phrase in (("additional_insured", "additional insured"),
                         ("waiver_of_subrogation", "waiver of subrogation")):
        if result.value(name) is None and remarks:
            result.fields[name] = ExtractedField(phrase in remarks, 0.6)


def _coverages(page: Page, put) -> None:
    columns = ("ADDL INSD", "SUBR WVD", "POLICY NUMBER", "POLICY EFF", "POLICY EXP", "LIMITS")
    by_name = {name: page.first(name) for name in columns}
    headers = [h for h in by_name.values() if h is not None]
    general = page.first("COMMERCIAL GENERAL LIABILITY")
    if general:
        for name, column in (("additional_insured", "ADDL INSD"), ("waiver_of_subrogation", "SUBR WVD"),
                             ("general_liability_policy", "POLICY NUMBER"), ("effective_date", "POLICY EFF"),
                             ("expiration_date", "POLICY EXP")):
            if by_name[column] is not None:
                put(name, page.cell(general, by_name[column], headers), general)
        occurrence = page.first("EACH OCCURRENCE", near=general.middle)
        if occurrence and abs(occurrence.middle - general.middle) < 14:
            put("general_each_occurrence", page.right_of(occurrence), occurrence)
    for name, label in (("general_aggregate", "GENERAL AGGREGATE"), ("auto_combined_single", "COMBINED SINGLE LIMIT"),
                        ("workers_comp_each_accident", "E.L. EACH ACCIDENT")):
        found = page.first(label)
        if found:
            put(name, page.right_of(found), found)
    umbrella = page.first("UMBRELLA LIAB")
    if umbrella:
        occurrence = page.first("EACH OCCURRENCE", near=umbrella.middle)
        if occurrence and abs(occurrence.middle - umbrella.middle) < 14:
            put("umbrella_each_occurrence", page.right_of(occurrence), occurrence)
