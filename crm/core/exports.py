"""CSV and XLSX exports that spreadsheets cannot turn into formulas.

A cell whose first character, after any leading white space, control or invisible format
characters, is one of = + - @ (or their full-width and small forms) would run as a formula
in Excel, LibreOffice or Google Sheets. In CSV such a cell gets a leading apostrophe; in
XLSX every cell is written as a typed string or number, never as a formula, and carries the
same apostrophe so that it stays inert if the sheet is saved again as CSV.
"""

import csv
import io
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal

from django.http import FileResponse, Http404, StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_TRIGGERS = frozenset("=+-@")
FORMATS = {"csv", "xlsx"}


def _is_blank_or_control(ch: str) -> bool:
    # Separators (spaces, NBSP, line breaks), controls (C0, DEL, C1) and invisible format
    # characters (zero-width spaces, BOM, word joiner, bidi marks, soft hyphen).
    return unicodedata.category(ch)[0] in "ZC"


def _is_trigger(ch: str) -> bool:
    # NFKC folds the full-width and small forms (＝ ＋ － ＠ ﹦ ﹢ ﹣ ﹫) onto = + - @.
    return unicodedata.normalize("NFKC", ch)[:1] in FORMULA_TRIGGERS


def neutralize(value: str) -> str:
    """Return the text so that no spreadsheet reads it as a formula."""
    for ch in value:
        if _is_blank_or_control(ch):
            continue
        if _is_trigger(ch):
            return "'" + value
        break
    return value


def cell_value(value) -> str | int | Decimal | date | datetime | None:
    """A Python value as it goes into a cell: text neutralised, times in local time."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None)
    if isinstance(value, int | Decimal | date):
        return value
    return neutralize(str(value))


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(headers: Sequence[str], rows: Iterable[Sequence]) -> Iterator[str]:
    """CSV for Spanish Excel: semicolons, a BOM so that accents read right, CRLF lines."""
    writer = csv.writer(_Echo(), delimiter=";", quoting=csv.QUOTE_MINIMAL)
    yield "\ufeff" + writer.writerow([neutralize(str(h)) for h in headers])
    for row in rows:
        values = []
        for value in row:
            value = cell_value(value)
            if isinstance(value, datetime):
                value = value.strftime("%d/%m/%Y %H:%M")
            elif isinstance(value, date):
                value = value.strftime("%d/%m/%Y")
            elif isinstance(value, Decimal):
                value = str(value).replace(".", ",")
            values.append(value)
        yield writer.writerow(values)


def xlsx_file(headers: Sequence[str], rows: Iterable[Sequence]) -> io.BufferedRandom:
    """An XLSX file (written to a temporary file, so memory stays flat on long lists)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append([_text_cell(sheet, str(h)) for h in headers])
    for row in rows:
        sheet.append([_cell(sheet, value) for value in row])
    output = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    workbook.save(output)
    output.seek(0)
    return output


def _text_cell(sheet, text: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=None)
    # Set the value and type by hand: openpyxl would store a text starting with = as a formula.
    # Control characters that XML cannot hold are dropped, or the file would not open.
    cell._value = ILLEGAL_CHARACTERS_RE.sub("", neutralize(text))
    cell.data_type = "s"
    return cell


def _cell(sheet, value) -> WriteOnlyCell:
    value = cell_value(value)
    if isinstance(value, str):
        return _text_cell(sheet, value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, datetime):
        cell.number_format = "DD/MM/YYYY HH:MM"
    elif isinstance(value, date):
        cell.number_format = "DD/MM/YYYY"
    return cell


def _in_current_locale(lines: Iterator[str]) -> Iterator[str]:
    """Stream in the request's language and time zone: the middleware that set them has
    already finished by the time the server pulls the lines."""
    language = translation.get_language()
    zone = timezone.get_current_timezone()

    def generate():
        with translation.override(language), timezone.override(zone):
            yield from lines

    return generate()


def export_response(*, fmt: str, filename: str, headers: Sequence[str], rows: Iterable[Sequence]):
    """The HTTP response for an export in the asked format; 404 for an unknown one."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        response = StreamingHttpResponse(
            _in_current_locale(csv_lines(headers, rows)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.csv"'
        return response
    if fmt == "xlsx":
        return FileResponse(
            xlsx_file(headers, rows),
            as_attachment=True,
            filename=f"{filename}-{stamp}.xlsx",
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    raise Http404
