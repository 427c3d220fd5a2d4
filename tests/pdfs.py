"""PDFs built in the tests with pypdf: good ones of a chosen size or page count, and bad ones."""

from __future__ import annotations

import io

from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    TextStringObject,
)


def _bytes(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _writer(pages: int = 1, padding: int = 0) -> PdfWriter:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=612, height=792)
    if padding:
        writer.add_metadata({"/Subject": "x" * padding})
    return writer


def good_pdf(pages: int = 1) -> bytes:
    return _bytes(_writer(pages))


def pdf_of_size(size: int) -> bytes:
    """A valid one-page PDF of exactly `size` bytes (the padding is a metadata string)."""
    padding = 1
    for _ in range(5):  # the file grows with the padding, give or take a digit in the offsets
        data = _bytes(_writer(padding=padding))
        if len(data) == size:
            return data
        padding += size - len(data)
    raise AssertionError(f"no padding gives {size} bytes")


def with_javascript() -> bytes:
    """A document-level script, in the /Names /JavaScript tree that viewers run on opening."""
    writer = _writer()
    script = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert('hello');"),
        }
    )
    tree = DictionaryObject(
        {NameObject("/Names"): ArrayObject([TextStringObject("a"), writer._add_object(script)])}
    )
    writer._root_object[NameObject("/Names")] = DictionaryObject(
        {NameObject("/JavaScript"): writer._add_object(tree)}
    )
    return _bytes(writer)


def _with_action(action: DictionaryObject, automatic: bool) -> bytes:
    writer = _writer()
    if automatic:
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
    else:
        link = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Link"),
                NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (10, 10, 100, 30)]),
                NameObject("/A"): action,
            }
        )
        writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(link)])
    return _bytes(writer)


def with_launch(automatic: bool = False) -> bytes:
    action = DictionaryObject(
        {
            NameObject("/S"): NameObject("/Launch"),
            NameObject("/F"): TextStringObject("cmd.exe"),
        }
    )
    return _with_action(action, automatic)


def with_uri(uri: str, automatic: bool = False) -> bytes:
    action = DictionaryObject(
        {NameObject("/S"): NameObject("/URI"), NameObject("/URI"): TextStringObject(uri)}
    )
    return _with_action(action, automatic)


def with_embedded_file() -> bytes:
    writer = _writer()
    writer.add_attachment("payload.exe", b"MZ\x90\x00 not really a program")
    return _bytes(writer)


def encrypted() -> bytes:
    writer = _writer()
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    return _bytes(writer)


def renamed_executable() -> bytes:
    """A Windows program carrying the two markers the old check looked for."""
    return b"MZ\x90\x00\x03\x00\x00\x00" + b"%PDF-1.7\n" + b"\x00" * 2000 + b"\n%%EOF\n"


def html_mentioning_pdf() -> bytes:
    return b"<!doctype html><html><body><p>%PDF-1.7 is a file format</p></body></html>\n%%EOF\n"
