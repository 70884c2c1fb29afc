"""A report (crm.reports.selectors.Report) as a CSV, XLSX or PDF download.

CSV and XLSX carry the figures as numbers (a spreadsheet can sum them), each text cell
neutralised against formulas by crm.core.exports; the PDF is the report as printed: its charts
(the same SVG as the page, crm.reports.charts) and its tables with every figure written by
charts.format_value, laid out by WeasyPrint through the quote's locked URL fetcher, which serves
nothing but the project's static files.
"""

import io
import re
import unicodedata
from collections.abc import Iterator
from datetime import datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal

from django.http import Http404, HttpResponse
from django.template.loader import render_to_string
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from crm.core.exports import csv_lines, neutralize
from crm.reports import charts
from crm.reports.selectors import Cell, Chart, Report, Row, Table
from crm.sales.pdf import html_to_pdf

FORMATS = ("csv", "xlsx", "pdf")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}

# Excel number formats; the figure stays the same number as on the page (45,5 % is 45.5).
XLSX_NUMBER_FORMATS = {
    "money": '#,##0.00 "€"',
    "percent": '0.0"%"',
    "points": '+0.0" p.p.";-0.0" p.p.";0.0" p.p."',
    "days": "0.0",
}
XLSX_INTEGER = "#,##0"
XLSX_DECIMAL = "#,##0.00"
XLSX_HEADER_ROW = 4  # title, subtitle, a blank row, then the headers
SHEET_NAME_MAX = 31
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f\x7f]")
COLUMN_WIDTH_MAX = 60
COLUMN_WIDTH_MIN = 8

PDF_LANDSCAPE_COLUMNS = 8  # a table with more columns than this turns the pages landscape
PDF_DENSE_COLUMNS = 12  # and with more than this, it is set in smaller, condensed type

CENT = Decimal("0.01")


def report_response(
    *,
    report: Report,
    fmt: str,
    filename: str,
    company_name: str,
    generated_at: datetime,
    tz: tzinfo | None = None,
) -> HttpResponse:
    """The report as an attachment named `<filename>.<fmt>`; 404 for a format we don't make.

    generated_at must be aware; the PDF prints it in `tz` (pass the company's time zone,
    `report_settings().tz`), or in its own time zone when tz is None.
    """
    if fmt not in FORMATS:
        raise Http404
    if fmt == "csv":
        content: bytes = "".join(report_csv_lines(report)).encode("utf-8")
    elif fmt == "xlsx":
        content = report_xlsx(report, company_name=company_name)
    else:
        content = report_pdf(report, company_name=company_name, generated_at=generated_at, tz=tz)
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{safe_filename(filename)}.{fmt}"'
    return response


def safe_filename(name: str) -> str:
    """ASCII letters, digits, dashes and underscores only: "Ventas por canal" ->
    "Ventas-por-canal"; never empty, never a path, never a quote that ends the header."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r"[^A-Za-z0-9_]+", "-", ascii_name).strip("-_")
    return ascii_name[:100] or "report"


# -- figures as spreadsheet numbers --


def _number(cell: Cell) -> int | Decimal | str | None:
    """The cell's value as a spreadsheet number: money to the cent, the rest as it is."""
    value = cell.value
    if value is None or isinstance(value, bool):
        return None if value is None else str(value)
    if isinstance(value, float):
        value = Decimal(str(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        if cell.value_format == "money":
            return value.quantize(CENT, rounding=ROUND_HALF_UP)
        return value
    if isinstance(value, int):
        return value
    return str(value)


def _row_values(row: Row) -> list:
    return [row.label, *(_number(cell) for cell in row.cells)]


# -- CSV --


def report_csv_lines(report: Report) -> Iterator[str]:
    """Every table one after the other: its title, the report's subtitle, the headers, the
    rows and the total, a blank line between tables. crm.core.exports.csv_lines writes them
    (semicolons, BOM, decimal commas, text neutralised)."""
    lines: list[list] = []
    for index, table in enumerate(report.tables):
        if index:
            lines.append([])
        lines.append([table.title])
        lines.append([report.subtitle])
        lines.append([str(header) for header in table.headers])
        lines.extend(_row_values(row) for row in table.rows)
        if table.total is not None:
            lines.append(_row_values(table.total))
    if not lines:
        lines = [[report.title], [report.subtitle]]
    first, *rest = lines
    return csv_lines(first, rest)


# -- XLSX --


def sheet_names(titles: list[str]) -> list[str]:
    """A valid, unique sheet name for each title: at most 31 characters, none of []:*?/\\,
    not starting or ending with an apostrophe, unique without regard to case."""
    names: list[str] = []
    taken: set[str] = set()
    for index, title in enumerate(titles, start=1):
        base = " ".join(SHEET_NAME_FORBIDDEN.sub(" ", str(title)).split()).strip("'")
        base = base or _("Table %(number)s") % {"number": index}
        name = base[:SHEET_NAME_MAX].rstrip().rstrip("'")
        counter = 1
        while name.casefold() in taken:
            counter += 1
            suffix = f" ({counter})"
            name = base[: SHEET_NAME_MAX - len(suffix)].rstrip().rstrip("'") + suffix
        taken.add(name.casefold())
        names.append(name)
    return names


def _xlsx_number_format(cell: Cell, value) -> str:
    if cell.value_format in XLSX_NUMBER_FORMATS:
        return XLSX_NUMBER_FORMATS[cell.value_format]
    if isinstance(value, Decimal) and value != value.to_integral_value():
        return XLSX_DECIMAL
    return XLSX_INTEGER


def _text_cell(sheet, text: str, font: Font | None = None) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=None)
    # Value and type set by hand, as crm.core.exports does: openpyxl would store a text
    # starting with = as a formula; characters XML cannot hold are dropped.
    cell._value = ILLEGAL_CHARACTERS_RE.sub("", neutralize(str(text)))
    cell.data_type = "s"
    if font is not None:
        cell.font = font
    return cell


def _xlsx_row(sheet, row: Row, *, bold: bool) -> list[WriteOnlyCell]:
    font = Font(bold=True) if bold else None
    cells = [_text_cell(sheet, row.label, font)]
    for source in row.cells:
        value = _number(source)
        if isinstance(value, str):
            cells.append(_text_cell(sheet, value, font))
            continue
        cell = WriteOnlyCell(sheet, value=value)
        if value is not None:
            cell.number_format = _xlsx_number_format(source, value)
        if font is not None:
            cell.font = font
        cells.append(cell)
    return cells


def _display_width(row: Row) -> list[int]:
    """About how many characters each cell of a row takes when shown."""
    widths = [len(str(row.label))]
    for cell in row.cells:
        value = _number(cell)
        if value is None:
            widths.append(0)
        elif isinstance(value, str):
            widths.append(len(value))
        else:
            # The figure as the spreadsheet shows it, thousands separators and sign included.
            widths.append(len(charts.format_value(value, _formatted_as(cell))) + 1)
    return widths


def _formatted_as(cell: Cell) -> str:
    return cell.value_format if cell.value_format in charts.VALUE_FORMATS else "number"


def _column_widths(table: Table) -> list[float]:
    rows = [*table.rows, *([table.total] if table.total else [])]
    count = max([len(table.headers), *(len(row.cells) + 1 for row in rows)])
    widths = [COLUMN_WIDTH_MIN] * count
    for index, header in enumerate(table.headers):
        widths[index] = max(widths[index], len(str(header)))
    for row in rows:
        for index, width in enumerate(_display_width(row)):
            widths[index] = max(widths[index], width)
    return [min(width + 2, COLUMN_WIDTH_MAX) for width in widths]


def report_xlsx(report: Report, *, company_name: str = "") -> bytes:
    """One sheet per table: its title and the report's subtitle, a blank row, the bold
    headers, the rows with real numbers and number formats, and the bold total."""
    workbook = Workbook(write_only=True)
    workbook.properties.title = report.title[:255]
    workbook.properties.creator = company_name[:255] or None
    tables = report.tables or [Table(report.title, [], [])]
    title_font = Font(bold=True, size=14)
    subtitle_font = Font(italic=True, color="555555")
    header_font = Font(bold=True)
    for table, name in zip(tables, sheet_names([t.title for t in tables]), strict=True):
        sheet = workbook.create_sheet(title=name)
        for index, width in enumerate(_column_widths(table), start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.freeze_panes = f"B{XLSX_HEADER_ROW + 1}"
        sheet.append([_text_cell(sheet, table.title, title_font)])
        sheet.append([_text_cell(sheet, report.subtitle, subtitle_font)])
        sheet.append([])
        headers = []
        for index, header in enumerate(table.headers):
            cell = _text_cell(sheet, header, header_font)
            if index:
                cell.alignment = Alignment(horizontal="right")
            headers.append(cell)
        sheet.append(headers)
        for row in table.rows:
            sheet.append(_xlsx_row(sheet, row, bold=False))
        if table.total is not None:
            sheet.append(_xlsx_row(sheet, table.total, bold=True))
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


# -- PDF --


def _chart_svg(chart: Chart):
    """The chart's SVG, without links (a PDF has no use for the drill-down pages)."""
    if chart.kind == "funnel":
        values = chart.series[0][1] if chart.series else [None] * len(chart.labels)
        return charts.funnel_chart(
            title=chart.title,
            steps=list(zip(chart.labels, values, strict=True)),
            value_format=chart.value_format,
        )
    # The page's rule: the biggest five series, the rest folded into "Others".
    series = charts.top_series(
        chart.series,
        value_format=chart.value_format,
        keep=5,
        others=pgettext("chart series", "Others"),
    )
    if chart.kind == "line":
        return charts.line_chart(
            title=chart.title,
            labels=chart.labels,
            series=series,
            value_format=chart.value_format,
        )
    if chart.kind in ("bar", "hbar"):
        return charts.bar_chart(
            title=chart.title,
            labels=chart.labels,
            series=series,
            horizontal=chart.kind == "hbar",
            value_format=chart.value_format,
        )
    raise ValueError(f"Unknown chart kind {chart.kind!r}")


def report_pdf_context(
    report: Report, *, company_name: str, generated_at: datetime, tz: tzinfo | None = None
) -> dict:
    """What the template prints. Its figures go through the page's own `figure` filter
    (crm/reports/templatetags/reports.py: charts.format_value, "—" for none, signed p.p.)."""
    if timezone.is_naive(generated_at):
        raise ValueError("generated_at must be an aware datetime")
    local = timezone.localtime(generated_at, tz or generated_at.tzinfo)
    widest = max((len(table.headers) for table in report.tables), default=0)
    tables = [
        {
            "title": table.title if table.title != report.title else "",
            "headers": [str(header) for header in table.headers],
            "rows": table.rows,
            "total": table.total,
            "columns": len(table.headers),
            "dense": len(table.headers) > PDF_DENSE_COLUMNS,
        }
        for table in report.tables
    ]
    return {
        "company_name": company_name,
        "title": report.title,
        "subtitle": report.subtitle,
        "generated_on": formats.date_format(local, "DATETIME_FORMAT"),
        "charts": [{"title": chart.title, "svg": _chart_svg(chart)} for chart in report.charts],
        "tables": tables,
        "landscape": widest > PDF_LANDSCAPE_COLUMNS,
    }


def report_pdf(
    report: Report, *, company_name: str, generated_at: datetime, tz: tzinfo | None = None
) -> bytes:
    """The report's PDF: A4 (landscape for a table of more than 8 columns), charts as SVG,
    tables with headers repeated on every page, page numbers in the footer."""
    context = report_pdf_context(
        report, company_name=company_name, generated_at=generated_at, tz=tz
    )
    return html_to_pdf(render_to_string("reports/report_pdf.html", context))
