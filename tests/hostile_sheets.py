"""Build hostile spreadsheets in memory: each function returns the bytes of one XLSX file.

Each starts from a real workbook (openpyxl writes it) and swaps one XML part for a
hand-written one, the way an attacker would edit the ZIP.
"""

from __future__ import annotations

import io
import zipfile

from openpyxl import Workbook

SHEET = "xl/worksheets/sheet1.xml"
WORKBOOK = "xl/workbook.xml"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def plain_xlsx(rows: list[list[object]]) -> bytes:
    """A normal one-sheet workbook holding `rows`."""
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)  # type: ignore[union-attr]
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def with_part(xlsx: bytes, name: str, content: bytes) -> bytes:
    """The same workbook with the ZIP member `name` replaced by `content`."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(xlsx)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = content if info.filename == name else source.read(info.filename)
            target.writestr(info.filename, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _inline(text: str) -> str:
    return f'<c t="inlineStr"><is><t>{text}</t></is></c>'


def sheet_xml(rows: list[list[str]], *, prolog: str = "") -> bytes:
    """A worksheet part of inline-string rows; `prolog` goes before the root element and
    cell texts are written raw, so they may hold entity references."""
    body = "".join("<row>" + "".join(_inline(cell) for cell in row) + "</row>" for row in rows)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}'
        f'<worksheet xmlns="{MAIN_NS}"><sheetData>{body}</sheetData></worksheet>'
    ).encode()


def malformed_sheet_xlsx(header: list[str]) -> bytes:
    """The worksheet part is cut off mid-element: not well-formed XML."""
    whole = sheet_xml([header, ["x"] * len(header)])
    return with_part(plain_xlsx([header]), SHEET, whole[: len(whole) // 2])


def malformed_workbook_xlsx() -> bytes:
    """The workbook part (read when the file is opened) is not XML at all."""
    return with_part(plain_xlsx([["a"]]), WORKBOOK, b"<workbook><sheets><sheet")


BILLION_LAUGHS = (
    '<!DOCTYPE worksheet [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10)
    )
    + "]>"
)


def billion_laughs_xlsx(header: list[str]) -> bytes:
    """Nine levels of ten entity references each: 10⁹ "lol"s from a few hundred bytes."""
    part = sheet_xml([header, ["&lol9;"] * len(header)], prolog=BILLION_LAUGHS)
    return with_part(plain_xlsx([header]), SHEET, part)


def external_entity_xlsx(header: list[str], target: str = "file:///etc/hostname") -> bytes:
    """A cell that names an external entity (XXE): a parser that resolves it reads `target`."""
    prolog = f'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "{target}">]>'
    part = sheet_xml([header, ["&xxe;"] * len(header)], prolog=prolog)
    return with_part(plain_xlsx([header]), SHEET, part)


def internal_entity_xlsx(header: list[str], row: list[str]) -> bytes:
    """A harmless-looking internal entity standing for the first cell of a good row: a
    parser that expands entities would import the row."""
    prolog = f'<!DOCTYPE worksheet [<!ENTITY first "{row[0]}">]>'
    part = sheet_xml([header, ["&first;", *row[1:]]], prolog=prolog)
    return with_part(plain_xlsx([header]), SHEET, part)


def many_rows_xlsx(header: list[str], rows: int = 400_000, *, broken_tail: bool = False) -> bytes:
    """`rows` identical one-number rows after the header: ~30 KB zipped, 10 MB of XML.
    With `broken_tail` the XML stops mid-element after the last row, so only a reader that
    reads to the end finds out."""
    row = "<row><c><v>1</v></c></row>"
    head = sheet_xml([header]).decode()
    part = head.replace("</sheetData>", row * rows + "</sheetData>").encode()
    if broken_tail:
        part = part[: -len("</sheetData></worksheet>")] + b"<row><c><v"
    return with_part(plain_xlsx([header]), SHEET, part)


def far_apart_rows_xlsx(header: list[str]) -> bytes:
    """A header and one cell a million rows and 16,000 columns away (XFD1048576), under a
    dimension claiming the whole sheet: a reader that fills the gaps makes 10¹⁰ empty cells."""
    part = (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN_NS}">'
        '<dimension ref="A1:XFD1048576"/><sheetData>'
        '<row r="1">' + "".join(_inline(h) for h in header) + "</row>"
        '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
        "</sheetData></worksheet>"
    ).encode()
    return with_part(plain_xlsx([header]), SHEET, part)


SHARED_STRINGS_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
)


def shared_strings_bomb_xlsx(strings: int = 5_000_000) -> bytes:
    """A shared-string table of `strings` one-letter entries (read whole when the file is
    opened): a few KB zipped, close to a hundred MB of XML."""
    base = plain_xlsx([["a"]])
    with zipfile.ZipFile(io.BytesIO(base)) as source:
        types = source.read("[Content_Types].xml").decode()
    override = f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SHARED_STRINGS_TYPE}"/>'
    types = types.replace("</Types>", override + "</Types>")
    table = (
        f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN_NS}">'
        + "<si><t>x</t></si>" * strings
        + "</sst>"
    ).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        with zipfile.ZipFile(io.BytesIO(base)) as source:
            for info in source.infolist():
                if info.filename != "[Content_Types].xml":
                    target.writestr(info.filename, source.read(info.filename))
        target.writestr("[Content_Types].xml", types)
        target.writestr("xl/sharedStrings.xml", table)
    return out.getvalue()
