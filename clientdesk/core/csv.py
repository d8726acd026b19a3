"""CSV for spreadsheets: cells that cannot run as formulas, streamed a line at a time.

A spreadsheet treats a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(CSV/formula injection: ``=HYPERLINK(...)``, ``=cmd|...``), and some also read a leading tab
or carriage return as the start of one. Following the OWASP guidance, ``neutralise`` puts a
single quote in front of any text cell whose first character is one of those, or whose first
character after leading whitespace is (``"  =1+1"``: some programs trim before they parse),
including the full-width forms (``＝``) that some programs fold to ASCII. Every cell is
written in double quotes with inner quotes doubled (``csv.QUOTE_ALL``), so a separator or a
line break inside a value stays inside its cell.

Numbers we write ourselves (``int``, ``Decimal``) are not text a person typed and are left
alone, so ``-5`` stays a number. Every export (customers, ledger, activity) goes through
``csv_stream``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

# The characters a spreadsheet may start a formula with (OWASP: = + - @ tab CR), plus their
# full-width forms.
FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
# What may precede a formula character and be trimmed away by a spreadsheet.
LEADING_BLANKS = " \t\r\n\u00a0\u3000\ufeff"
BOM = "\ufeff"


def neutralise(value: object) -> str:
    """One cell as text that no spreadsheet will evaluate as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    if not text:
        return text
    if text[0] in FORMULA_STARTS:
        return "'" + text
    stripped = text.lstrip(LEADING_BLANKS)
    if stripped and stripped[0] in FORMULA_STARTS:
        return "'" + text
    return text


def neutralise_row(values: Iterable[object]) -> list[str]:
    return [neutralise(value) for value in values]


class _Line:
    """A file-like object that hands back what ``csv.writer`` writes to it."""

    def write(self, value: str) -> str:
        return value


def _writer() -> Any:
    return csv.writer(_Line(), quoting=csv.QUOTE_ALL, lineterminator="\r\n")


def csv_line(values: Iterable[object]) -> str:
    """One neutralised, quoted CSV line (ending in CRLF, as RFC 4180 says)."""
    return str(_writer().writerow(neutralise_row(values)))


def csv_stream(
    header: Iterable[str], rows: Iterable[Iterable[object]], *, bom: bool = True
) -> Iterator[str]:
    """The lines of a CSV file, one at a time, for a ``StreamingHttpResponse``.

    ``bom`` starts the file with a UTF-8 byte order mark so that Excel reads non-ASCII
    names correctly.
    """
    writer = _writer()
    first = str(writer.writerow(neutralise_row(header)))
    yield (BOM + first) if bom else first
    for row in rows:
        yield str(writer.writerow(neutralise_row(row)))
