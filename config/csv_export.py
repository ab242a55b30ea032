"""CSV downloads for every page that offers one, safe to open in a spreadsheet.

A text cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is read by Excel,
LibreOffice and Google Sheets as a formula (CSV injection), so such a cell is written with a
leading single quote. Numbers (int, Decimal, float) are written as they are, negative ones too:
a spreadsheet reads them as numbers, never as formulas.
"""

import csv
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from django.http import HttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def csv_cell(value):
    """One cell: numbers stay numbers, dates ISO 8601, None empty, risky text quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | Decimal | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def csv_response(filename: str, header: Sequence, rows: Iterable[Sequence]) -> HttpResponse:
    """A CSV download: the header line, then one line per row, every cell through `csv_cell`."""
    safe_name = _UNSAFE_FILENAME.sub("-", filename).strip("-.") or "export.csv"
    if not safe_name.lower().endswith(".csv"):
        safe_name += ".csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{safe_name}"'
    writer = csv.writer(response)
    writer.writerow([csv_cell(value) for value in header])
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return response
