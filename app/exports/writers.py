"""CSV and XLSX written row by row as a stream of bytes: dates in ISO 8601, numbers as numbers.

The XLSX is a minimal SpreadsheetML workbook (one sheet, inline strings, a bold frozen heading row, date
styles) zipped into an unseekable stream: zipfile then writes each entry's sizes after its data, so
nothing but the current batch is ever held in memory.
"""
from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
import zipfile
from decimal import Decimal
from typing import Iterable, Iterator
from xml.sax.saxutils import escape

# Bytes handed to the response at a time.
FLUSH_AT = 64 * 1024
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
# Characters XML 1.0 forbids; a pasted control character must not make the workbook unreadable.
ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
NUMBERS = (int, float, Decimal)
TAG = re.compile(r"<!--.*?-->|<[^>]*>", re.DOTALL)
TEXT_AS_IS = frozenset((str, int, float, Decimal))


# Types a file holds as they are (exact types: a str subclass such as Markup is no plain text).
KEPT = frozenset((str, int, float, Decimal, bool, dt.date, dt.datetime, type(None)))


def plain(value):
    """A value as a file holds it: None, bool, number, date/datetime, or text."""
    if type(value) in KEPT or isinstance(value, (bool, *NUMBERS, dt.date)):
        return value
    if hasattr(value, "__html__"):  # a formatter's Markup (a badge): its text, as Markup.striptags reads it
        text = " ".join(TAG.sub("", str(value)).split())
        return html.unescape(text) if "&" in text else text
    return str(value)


def csv_stream(headings: list[str], rows: Iterable[list]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # lets Excel read the file as UTF-8
    writer.writerow(headings)
    for row in rows:
        writer.writerow([_csv_value(value) for value in row])
        if buffer.tell() >= FLUSH_AT:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _csv_value(value):
    if type(value) in TEXT_AS_IS:
        return value
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class _Sink:
    """The zip's output: collects what was written until the response takes it. No tell()/seek(), so
    zipfile streams (sizes go in a data descriptor after each entry)."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data = b"".join(self.parts)
        self.parts, self.size = [], 0
        return data


MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
STATIC_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '</Types>'),
    "_rels/.rels": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{PACKAGE_RELS}">'
        f'<Relationship Id="rId1" Type="{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    "xl/_rels/workbook.xml.rels": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{PACKAGE_RELS}">'
        f'<Relationship Id="rId1" Type="{RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{RELS}/styles" Target="styles.xml"/></Relationships>'),
    "xl/styles.xml": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet xmlns="{MAIN}">'
        '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/>'
        '<numFmt numFmtId="165" formatCode="yyyy-mm-dd"/></numFmts>'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'),
}
DATETIME_STYLE, DATE_STYLE, HEADING_STYLE = 1, 2, 3


def _workbook(sheet_name: str) -> str:
    name = escape(ILLEGAL_XML.sub("", re.sub(r"[\[\]:*?/\\]", " ", sheet_name))[:31] or "Export", {'"': "&quot;"})
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{MAIN}" xmlns:r="{RELS}">'
            f'<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>')


def column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _text(value: str) -> str:
    if not value.isprintable():  # the rare text with a control character pays for the search
        value = ILLEGAL_XML.sub("", value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell(reference: str, value, style: int = 0) -> str:
    if type(value) is not str:
        value = plain(value)
        if value is None:
            return ""
        if isinstance(value, bool):
            return f'<c r="{reference}" t="b"><v>{int(value)}</v></c>'
        if isinstance(value, NUMBERS):
            return f'<c r="{reference}"><v>{value}</v></c>'
        if isinstance(value, dt.datetime):
            serial = (value.replace(tzinfo=None, microsecond=0) - EXCEL_EPOCH).total_seconds() / 86400
            return f'<c r="{reference}" s="{DATETIME_STYLE}"><v>{serial:.10f}</v></c>'
        if isinstance(value, dt.date):
            return f'<c r="{reference}" s="{DATE_STYLE}"><v>{(value - EXCEL_EPOCH.date()).days}</v></c>'
    styled = f' s="{style}"' if style else ""
    return f'<c r="{reference}" t="inlineStr"{styled}><is><t xml:space="preserve">{_text(value)}</t></is></c>'


# Rows joined into one write to the zip (each write costs a compressor call and a CRC update).
ROWS_PER_WRITE = 200


def xlsx_stream(headings: list[str], rows: Iterable[list], sheet_name: str = "Export") -> Iterator[bytes]:
    sink = _Sink()
    letters = [column_letters(index) for index in range(len(headings))]
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        for name, content in STATIC_PARTS.items():
            book.writestr(name, content)
        book.writestr("xl/workbook.xml", _workbook(sheet_name))
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write((
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{MAIN}">'
                '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
                'state="frozen"/></sheetView></sheetViews><sheetData><row r="1">'
                + "".join(_cell(f"{letter}1", heading, HEADING_STYLE) for letter, heading in zip(letters, headings))
                + "</row>").encode("utf-8"))
            pending = []
            for number, row in enumerate(rows, start=2):
                pending.append(f'<row r="{number}">')
                pending.extend(_cell(f"{letter}{number}", value) for letter, value in zip(letters, row))
                pending.append("</row>")
                if number % ROWS_PER_WRITE == 0:
                    sheet.write("".join(pending).encode("utf-8"))
                    pending.clear()
                    if sink.size >= FLUSH_AT:
                        yield sink.drain()
            pending.append("</sheetData></worksheet>")
            sheet.write("".join(pending).encode("utf-8"))
    yield sink.drain()
