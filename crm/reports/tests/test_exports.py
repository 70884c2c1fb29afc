"""A report as a CSV, XLSX and PDF download (crm.reports.exports): exact cells, real numbers
with number formats, inert formulas and markup, and the PDF's text."""

import csv
import io
import shutil
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.http import Http404
from django.template.loader import render_to_string
from django.utils import translation
from openpyxl import load_workbook

from crm.reports import exports
from crm.reports.selectors import Cell, Chart, Report, Row, Table

FORMULA = "=cmd|' /C calc'!A0"
SCRIPT = "<script>alert(1)</script>"
GENERATED_AT = datetime(2026, 11, 27, 9, 5, tzinfo=UTC)  # 10:05 in Madrid
MADRID = ZoneInfo("Europe/Madrid")


@pytest.fixture(autouse=True)
def _spanish():
    with translation.override("es"):
        yield


def make_report() -> Report:
    by_channel = Table(
        title="Won amount by channel",
        headers=["Channel", "Oct 2026", "Nov 2026", "Total"],
        rows=[
            Row(
                "Web",
                [
                    Cell(Decimal("1234.5"), "money", "/reports/records/?x=1"),
                    Cell(None, "money"),
                    Cell(Decimal("1234.5"), "money"),
                ],
                key="1",
            ),
            Row(
                FORMULA,
                [
                    Cell(Decimal("99.999"), "money"),
                    Cell(12, "money"),
                    Cell(Decimal("111.999"), "money"),
                ],
                key="2",
            ),
            Row(
                SCRIPT,
                [
                    Cell(Decimal("0"), "money"),
                    Cell(Decimal("7.10"), "money"),
                    Cell(Decimal("7.1"), "money"),
                ],
                key="3",
            ),
        ],
        total=Row(
            "Total",
            [
                Cell(Decimal("1334.499"), "money"),
                Cell(Decimal("19.1"), "money"),
                Cell(Decimal("1353.599"), "money"),
            ],
        ),
    )
    year_on_year = Table(
        title="Win rate: 2026 against 2025",
        headers=["", "2025", "2026", "Difference", "%"],
        rows=[
            Row(
                "Q1",
                [
                    Cell(Decimal("45.5"), "percent"),
                    Cell(Decimal("43"), "percent"),
                    Cell(Decimal("-2.5"), "points", tone="danger"),
                    Cell(Decimal("-5.5"), "percent", tone="danger"),
                ],
            ),
            Row(
                "Q2",
                [
                    Cell(30, "number"),
                    Cell(Decimal("12.5"), "days"),
                    Cell(None, "points"),
                    Cell(None, "percent"),
                ],
            ),
        ],
    )
    charts = [
        Chart(
            "bar",
            "Won by month",
            ["Oct 2026", "Nov 2026"],
            [("Total", [Decimal("1334.5"), Decimal("19.1")])],
            "money",
        ),
        Chart(
            "hbar",
            "Won by channel",
            ["Web", FORMULA, SCRIPT],
            [("Total", [Decimal("1234.5"), 112, 7])],
            "money",
        ),
        Chart(
            "line", "Win rate", ["Q1", "Q2"], [("2025", [45, 30]), ("2026", [43, None])], "percent"
        ),
        Chart("funnel", "Funnel", ["Leads", "Deals", "Won"], [("Count", [100, 40, 10])], "number"),
    ]
    return Report(
        title="Sales by channel",
        subtitle="01/10/2026 to 30/11/2026 · by channel",
        tables=[by_channel, year_on_year],
        charts=charts,
    )


def download(fmt: str, report: Report | None = None, filename: str = "ventas-por-canal"):
    return exports.report_response(
        report=report or make_report(),
        fmt=fmt,
        filename=filename,
        company_name="Talleres Pérez SL",
        generated_at=GENERATED_AT,
        tz=MADRID,
    )


# -- CSV --


def test_csv_has_every_table_with_exact_cells():
    response = download("csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="ventas-por-canal.csv"'
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows == [
        ["Won amount by channel"],
        ["01/10/2026 to 30/11/2026 · by channel"],
        ["Channel", "Oct 2026", "Nov 2026", "Total"],
        ["Web", "1234,50", "", "1234,50"],
        ["'" + FORMULA, "100,00", "12", "112,00"],
        [SCRIPT, "0,00", "7,10", "7,10"],
        ["Total", "1334,50", "19,10", "1353,60"],
        [],
        ["Win rate: 2026 against 2025"],
        ["01/10/2026 to 30/11/2026 · by channel"],
        ["", "2025", "2026", "Difference", "%"],
        ["Q1", "45,5", "43", "-2,5", "-5,5"],
        ["Q2", "30", "12,5", "", ""],
    ]


# -- XLSX --


def test_xlsx_has_a_sheet_per_table_with_numbers_and_formats():
    response = download("xlsx")

    assert response["Content-Disposition"] == 'attachment; filename="ventas-por-canal.xlsx"'
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    workbook = load_workbook(io.BytesIO(response.content))  # numbers come back as int or float
    assert workbook.sheetnames == ["Won amount by channel", "Win rate 2026 against 2025"]

    sheet = workbook["Won amount by channel"]
    assert sheet["A1"].value == "Won amount by channel"
    assert sheet["A1"].font.b is True
    assert sheet["A2"].value == "01/10/2026 to 30/11/2026 · by channel"
    assert [c.value for c in sheet[4]] == ["Channel", "Oct 2026", "Nov 2026", "Total"]
    assert all(c.font.b for c in sheet[4])
    assert [c.value for c in sheet[5]] == ["Web", 1234.5, None, 1234.5]
    assert sheet["B5"].data_type == "n"
    assert sheet["B5"].number_format == '#,##0.00 "€"'
    assert sheet["A6"].value == "'" + FORMULA
    assert sheet["A6"].data_type == "s"
    assert sheet["B6"].value == 100.0
    assert sheet["C6"].value == 12
    assert sheet["A7"].value == SCRIPT
    total = sheet[8]
    assert [c.value for c in total] == [
        "Total",
        1334.5,
        19.1,
        1353.6,
    ]
    assert all(c.font.b for c in total)
    assert not sheet["A5"].font.b
    assert sheet.freeze_panes == "B5"  # headers and labels stay in view
    assert sheet.column_dimensions["A"].width >= len(FORMULA)
    assert sheet.column_dimensions["B"].width >= len("1.234,50 €")

    sheet = workbook["Win rate 2026 against 2025"]
    q1 = sheet[5]
    assert [c.value for c in q1] == ["Q1", 45.5, 43, -2.5, -5.5]
    assert [c.number_format for c in q1[1:]] == [
        '0.0"%"',
        '0.0"%"',
        '+0.0" p.p.";-0.0" p.p.";0.0" p.p."',
        '0.0"%"',
    ]
    q2 = sheet[6]
    assert [c.value for c in q2] == ["Q2", 30, 12.5, None, None]
    assert [q2[1].number_format, q2[2].number_format] == ["#,##0", "0.0"]
    assert sheet.max_row == 6  # no total row


def test_xlsx_values_load_as_numbers_not_text():
    workbook = load_workbook(io.BytesIO(download("xlsx").content))

    sheet = workbook.worksheets[0]
    for cell in sheet[5][1:] + sheet[8][1:]:
        if cell.value is not None:
            assert cell.data_type == "n"
            assert isinstance(cell.value, int | float)


def test_sheet_names_are_valid_and_unique():
    with translation.override("en"):
        names = exports.sheet_names(
            [
                "Ventas / mes: [2026] *¿?* \\ todo",
                "A very long title that goes well past thirty-one characters",
                "A very long title that goes well past thirty-one characters, again",
                "'quoted'",
                "",
                "ventas",
                "VENTAS",
            ]
        )

    assert names == [
        "Ventas mes 2026 ¿ todo",
        "A very long title that goes wel",
        "A very long title that goes (2)",
        "quoted",
        "Table 5",
        "ventas",
        "VENTAS (2)",
    ]
    assert all(len(name) <= 31 for name in names)


# -- PDF --


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    return subprocess.run(  # noqa: S603
        ["pdftotext", "-layout", str(path), "-"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_pdf_is_an_attached_pdf():
    response = download("pdf")

    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="ventas-por-canal.pdf"'
    assert response.content.startswith(b"%PDF-")


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) not installed")
def test_pdf_text_has_the_title_figures_in_spanish_and_headers(tmp_path):
    text = pdf_text(download("pdf").content, tmp_path)

    for expected in [
        "Talleres Pérez SL",
        "Sales by channel",
        "01/10/2026 to 30/11/2026 · by channel",
        "27/11/2026 10:05",  # generated on, in Madrid's time
        "Won amount by channel",
        "Channel",
        "Difference",
        "1.234,50 €",
        "1.334,50 €",
        "45,5 %",
        "−2,5 p.p.",  # a minus sign, as on the page
        FORMULA,
        SCRIPT,  # the label as text, not run as markup
        "Página 1 / ",
    ]:
        assert expected in text.replace("\xa0", " "), expected


def test_pdf_escapes_labels_in_the_html():
    html = render_to_string(
        "reports/report_pdf.html",
        exports.report_pdf_context(
            make_report(), company_name="<b>Co</b>", generated_at=GENERATED_AT, tz=MADRID
        ),
    )

    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>Co</b>" not in html


def test_pdf_turns_landscape_for_a_table_of_more_than_eight_columns():
    months = [f"M{n}" for n in range(1, 13)]
    wide = Report(
        "Wide",
        "",
        [Table("Wide", ["", *months], [Row("Web", [Cell(n, "number") for n in range(12)])])],
        [],
    )
    narrow = make_report()

    assert exports.report_pdf_context(wide, company_name="Co", generated_at=GENERATED_AT)[
        "landscape"
    ]
    assert not exports.report_pdf_context(narrow, company_name="Co", generated_at=GENERATED_AT)[
        "landscape"
    ]
    assert download("pdf", report=wide).content.startswith(b"%PDF-")


# -- format and file name --


def test_unknown_format_is_not_found():
    with pytest.raises(Http404):
        download("docx")


def test_filename_is_safe_ascii():
    response = download("csv", filename='Ventas "año" ../../etc/passwd\r\n')

    assert response["Content-Disposition"] == 'attachment; filename="Ventas-ano-etc-passwd.csv"'
