import csv
import datetime
import io
from decimal import Decimal

import pytest

from config.csv_export import FORMULA_PREFIXES, csv_cell, csv_response


def _rows(response):
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.mark.parametrize("prefix", FORMULA_PREFIXES)
def test_text_that_a_spreadsheet_would_run_as_a_formula_is_quoted(prefix):
    assert csv_cell(f'{prefix}HYPERLINK("http://evil.example")') == f'\'{prefix}HYPERLINK("http://evil.example")'


def test_every_formula_prefix_is_covered():
    assert set(FORMULA_PREFIXES) == {"=", "+", "-", "@", "\t", "\r"}


def test_numbers_stay_numbers_even_when_negative():
    assert csv_cell(Decimal("-5.00")) == Decimal("-5.00")
    assert csv_cell(-3) == -3
    assert csv_cell(2.5) == 2.5
    assert csv_cell("12.50") == "12.50"  # text that is a number is harmless as it is


def test_other_cells():
    assert csv_cell(None) == ""
    assert csv_cell(datetime.date(2026, 11, 23)) == "2026-11-23"
    assert csv_cell("Copper kettle") == "Copper kettle"
    assert csv_cell("a=b") == "a=b"  # only a leading sign matters


def test_csv_response_neutralises_header_and_rows_and_keeps_numbers():
    response = csv_response(
        "report.csv",
        ["title", "-profit"],
        [["=1+1", Decimal("-2.50")], ["@SUM(A1)", 7], ["Kettle", None], ["\tTabbed", Decimal("0.00")]],
    )

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="report.csv"'
    assert _rows(response) == [
        ["title", "'-profit"],
        ["'=1+1", "-2.50"],
        ["'@SUM(A1)", "7"],
        ["Kettle", ""],
        ["'\tTabbed", "0.00"],
    ]


def test_filename_cannot_break_the_header():
    response = csv_response('price "history"\r\nX-Evil: 1', ["a"], [])
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="') and disposition.endswith('.csv"')
    assert "\n" not in disposition and '"history' not in disposition
