"""Reading tables from files people upload: CSV as Spanish Excel writes it and XLSX.

Shared by every import (leads, products...). Detects the encoding (UTF-8 with or without BOM,
else Windows-1252, else Latin-1) and the separator (; , tab |), streams rows as lists of text,
and turns spreadsheet cells into text as a person reads them (600123456.0 -> "600123456").
"""

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from crm.core.text import fold

MAX_ROWS = 250_000
DELIMITERS = ";,\t|"
SAMPLE_BYTES = 64 * 1024
CSV_EXTENSIONS = {".csv", ".txt", ".tsv"}
XLSX_EXTENSIONS = {".xlsx", ".xlsm"}
ZIP_MAGIC = b"PK\x03\x04"


def fold_header(value: str) -> str:
    """A header as compared: folded, punctuation as spaces, single spaces ("E-mail" -> "e mail")."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", fold(value)).split())


class _Raw(io.RawIOBase):
    """Any object with read() as a raw stream, so that io can buffer and decode it."""

    def __init__(self, source):
        self.source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.source.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@dataclass
class FileInfo:
    kind: str  # "csv" or "xlsx"
    encoding: str = ""
    delimiter: str = ""
    sheet: str = ""
    sheets: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    total_rows: int = 0
    sha256: str = ""


def file_kind(name: str, head: bytes) -> str:
    suffix = PurePath(name or "").suffix.lower()
    if suffix in XLSX_EXTENSIONS or (head.startswith(ZIP_MAGIC) and suffix not in CSV_EXTENSIONS):
        if not head.startswith(ZIP_MAGIC):
            raise ValidationError({"file": _("This file is not a valid Excel (XLSX) file.")})
        return "xlsx"
    if suffix in CSV_EXTENSIONS or not suffix:
        if head.startswith(ZIP_MAGIC) or b"\x00" in head[:4096]:
            raise ValidationError({"file": _("This file is not a text (CSV) file.")})
        return "csv"
    raise ValidationError(
        {"file": _("Upload a CSV or XLSX file (this one is %(type)s).") % {"type": suffix}}
    )


def detect_encoding(stream, hasher) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes as such, else Windows-1252,
    else Latin-1 (which decodes anything)."""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    cp1252 = codecs.getincrementaldecoder("cp1252")()
    is_utf8 = is_cp1252 = True
    first = b""
    while chunk := stream.read(1024 * 1024):
        hasher.update(chunk)
        if not first:
            first = chunk[:3]
        if is_utf8:
            try:
                utf8.decode(chunk)
            except UnicodeDecodeError:
                is_utf8 = False
        if not is_utf8 and is_cp1252:
            try:
                cp1252.decode(chunk)
            except UnicodeDecodeError:
                is_cp1252 = False
    if is_utf8:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            is_utf8 = False
    if is_utf8:
        return "utf-8-sig" if first.startswith(codecs.BOM_UTF8) else "utf-8"
    # cp1252 was checked from the first chunk that failed UTF-8 only: check it from the start.
    if is_cp1252:
        stream.seek(0)
        try:
            decoder = codecs.getincrementaldecoder("cp1252")()
            while chunk := stream.read(1024 * 1024):
                decoder.decode(chunk)
        except UnicodeDecodeError:
            return "latin-1"
        return "cp1252"
    return "latin-1"


def _rows_of(sample: str, delimiter: str, limit: int = 50) -> list[list[str]]:
    rows = []
    try:
        for row in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter):
            if any(cell.strip() for cell in row):
                rows.append(row)
            if len(rows) >= limit:
                break
    except csv.Error:
        return []
    return rows


def detect_delimiter(sample: str) -> str:
    """The separator among ; , tab and | that splits the sample into the most regular table
    (csv.Sniffer's guess wins a tie). A one-column file gets ";"."""
    # The last line of a sample cut in the middle is incomplete: drop it.
    if "\n" in sample:
        sample = sample[: sample.rfind("\n") + 1]
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = ""
    best, best_score = ";", (0.0, 0, False)
    for delimiter in DELIMITERS:
        rows = _rows_of(sample, delimiter)
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        regular = sum(1 for row in rows if len(row) == width) / len(rows)
        score = (regular, width, delimiter == sniffed)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _text_stream(binary, encoding: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BufferedReader(_Raw(binary)), encoding=encoding, newline="")


def csv_rows(binary, encoding: str, delimiter: str) -> Iterator[list[str]]:
    text = _text_stream(binary, encoding)
    yield from csv.reader(text, delimiter=delimiter)


def cell_text(value: Any) -> str:
    """A spreadsheet cell as text: whole numbers without ".0" (phones typed as numbers),
    dates as dd/mm/yyyy."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.strftime("%d/%m/%Y")
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def open_workbook(binary):
    from openpyxl import load_workbook

    try:
        return load_workbook(binary, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise ValidationError({"file": _("This Excel file cannot be read.")}) from exc


def worksheet(workbook, sheet: str):
    if not sheet:
        return workbook.worksheets[0]
    if sheet not in workbook.sheetnames:
        raise ValidationError(
            {
                "sheet": _("The file has no sheet “%(sheet)s”; it has: %(sheets)s.")
                % {"sheet": sheet, "sheets": ", ".join(workbook.sheetnames)}
            }
        )
    return workbook[sheet]


def xlsx_rows(binary, sheet: str) -> Iterator[list[str]]:
    workbook = open_workbook(binary)
    try:
        for row in worksheet(workbook, sheet).iter_rows(values_only=True):
            yield [cell_text(value) for value in row]
    finally:
        workbook.close()


def is_blank(row: list[str]) -> bool:
    return not any(cell.strip() for cell in row)


def non_blank_rows(rows: Iterable[list[str]]) -> Iterator[list[str]]:
    """Rows without the blank ones, the first being the header."""
    for row in rows:
        if not is_blank(row):
            yield row


def inspect_file(binary, name: str, sheet: str) -> FileInfo:
    head = binary.read(8)
    binary.seek(0)
    kind = file_kind(name, head)
    info = FileInfo(kind=kind)
    hasher = hashlib.sha256()
    if kind == "csv":
        info.encoding = detect_encoding(binary, hasher)
        binary.seek(0)
        sample = binary.read(SAMPLE_BYTES).decode(info.encoding, errors="ignore")
        info.delimiter = detect_delimiter(sample)
        binary.seek(0)
        rows = csv_rows(binary, info.encoding, info.delimiter)
    else:
        while chunk := binary.read(1024 * 1024):
            hasher.update(chunk)
        binary.seek(0)
        workbook = open_workbook(binary)
        info.sheets = list(workbook.sheetnames)
        info.sheet = worksheet(workbook, sheet).title
        workbook.close()
        binary.seek(0)
        rows = xlsx_rows(binary, info.sheet)
    info.sha256 = hasher.hexdigest()
    try:
        table = non_blank_rows(rows)
        header = next(table, None)
        if header is None:
            raise ValidationError({"file": _("The file is empty.")})
        info.headers = [cell.strip() for cell in header]
        while info.headers and not info.headers[-1]:
            info.headers.pop()
        if not any(info.headers):
            raise ValidationError({"file": _("The first row must hold the column names.")})
        info.headers = [
            h or _("Column %(number)d") % {"number": i + 1} for i, h in enumerate(info.headers)
        ]
        for info.total_rows, _row in enumerate(table, start=1):
            if info.total_rows > MAX_ROWS:
                raise ValidationError(
                    {
                        "file": _("The file has more than %(max)d rows; split it.")
                        % {"max": MAX_ROWS}
                    }
                )
    except csv.Error as exc:
        raise ValidationError(
            {"file": _("The file is not a readable CSV file: %(error)s") % {"error": exc}}
        ) from exc
    if not info.total_rows:
        raise ValidationError({"file": _("The file has column names but no rows.")})
    return info
