"""Report files: CSV and XLSX of a ReportResult (small, aggregated) and of a streamed ledger (any size).

Text cells are formula-escaped (core.common.formulas); numbers stay numbers in XLSX.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import tempfile
from collections.abc import Iterable, Iterator
from decimal import Decimal

from core.common.formulas import escape_formula
from core.reporting.reports.base import ReportResult, Section

CHUNK_SIZE = 2000


def cell(value, kind: str = "text"):
    """A value as a file cell: dates ISO, money as Decimal, text escaped; None stays empty."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal | int | float):
        return value
    return escape_formula(str(value))


def _period_label(value) -> str:
    return "Whole range" if value is None else value.isoformat()


def section_rows(section: Section) -> Iterator[list]:
    yield [c.label for c in section.columns]
    for row in section.rows:
        yield [_period_label(row.get(c.key)) if c.key == "period" else cell(row.get(c.key), c.kind)
               for c in section.columns]
    if section.totals:
        yield ["Total" if i == 0 else ("" if c.key == "period" or c.kind == "text" else cell(section.totals.get(c.key)))
               for i, c in enumerate(section.columns)]


def report_csv(result: ReportResult) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([result.title, *(f"{k}={v}" for k, v in result.params.items() if v not in (None, "", [], {}))])
    for section in result.sections:
        writer.writerow([])
        writer.writerow([section.title])
        writer.writerows(section_rows(section))
    for note in result.notes:
        writer.writerow([])
        writer.writerow([escape_formula(note)])
    return buffer.getvalue().encode()


def report_xlsx(result: ReportResult) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    for section in result.sections:
        sheet = workbook.create_sheet(title=section.title[:31].replace("/", "-"))
        for row in section_rows(section):
            sheet.append(row)
    if result.notes:
        sheet = workbook.create_sheet(title="Notes")
        for note in result.notes:
            sheet.append([note])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def stream_csv(headers: list[str], rows: Iterable[tuple], *, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """CSV in chunks of `chunk_size` rows, never more than one chunk in memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    rows, escape = iter(rows), escape_formula
    while True:
        chunk = list(itertools.islice(rows, chunk_size))
        writer.writerows([escape(v) if v.__class__ is str else v for v in r] for r in chunk)
        yield buffer.getvalue().encode()
        if len(chunk) < chunk_size:
            return
        buffer.seek(0)
        buffer.truncate()


def xlsx_file(headers: list[str], rows: Iterable[tuple]):
    """An XLSX in a temporary file (openpyxl write-only mode keeps memory flat), rewound for reading."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title="Ledger")
    sheet.append(headers)
    for row in rows:
        sheet.append([cell(v) for v in row])
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - the caller streams it and closes it
    workbook.save(handle)
    handle.seek(0)
    return handle
