"""What an uploaded PDF must be before it is stored: a real, unencrypted PDF without active content.

Files with active content are refused rather than cleaned: stripping would store a document other
than the one the person sent (and a variant the stripper misses would go through), while a refusal
tells them exactly what to remove, and the letters and reports people send have no need for scripts,
programs, attachments inside attachments or links that open files.
"""

from __future__ import annotations

import io
import logging
import re
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

# pypdf reports recoverable damage through the logging module; a refusal is the answer here.
logging.getLogger("pypdf").setLevel(logging.ERROR)

SAFE_LINK_SCHEMES = {"http", "https", "mailto"}
# Keys under which an action runs by itself (opening the document, a page, a field...).
AUTOMATIC_KEYS = {"/OpenAction", "/AA"}
EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!")


class UploadRejected(ValueError):
    """The reason, in words for the person who uploaded the file."""


def check_upload(data: bytes) -> int:
    """check_pdf with the configured limits."""
    return check_pdf(
        data, current_app.config["MAX_UPLOAD_BYTES"], current_app.config["MAX_UPLOAD_PAGES"]
    )


def check_pdf(data: bytes, max_bytes: int, max_pages: int) -> int:
    """Refuse the file unless it is a PDF fit to store and serve; return its page count."""
    if not data:
        raise UploadRejected("the file is empty")
    if len(data) > max_bytes:
        raise UploadRejected(f"the file is larger than {max_bytes // (1024 * 1024)} MB")
    if data.startswith(EXECUTABLE_MAGIC):
        raise UploadRejected(
            "the file is a program, not a PDF (its content was checked, not its name)"
        )
    if not data.startswith(b"%PDF-"):
        raise UploadRejected(
            "the file is not a PDF: it does not begin as a PDF does "
            "(its content was checked, not its name)"
        )
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UploadRejected(
                "the file is encrypted or password-protected; save it without a password and "
                "upload it again"
            )
        pages = len(reader.pages)
        _refuse_active_content(reader.trailer)
    except UploadRejected:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise UploadRejected(
            "the file is not a PDF that can be read: it is damaged or incomplete"
        ) from exc
    if pages == 0:
        raise UploadRejected("the file has no pages")
    if pages > max_pages:
        raise UploadRejected(f"the file has {pages} pages; at most {max_pages} are accepted")
    return pages


def _refuse_active_content(trailer: DictionaryObject) -> None:
    """Walk every object reachable from the trailer, once each, refusing what can act."""
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[Any, bool]] = [(trailer, False)]
    while stack:
        node, automatic = stack.pop()
        if isinstance(node, IndirectObject):
            ref = (node.idnum, node.generation)
            if ref in seen:
                continue
            seen.add(ref)
            node = node.get_object()
        if isinstance(node, DictionaryObject):
            _check_dictionary(node, automatic)
            for key, value in node.items():
                if key != "/Parent":
                    stack.append((value, automatic or key in AUTOMATIC_KEYS))
        elif isinstance(node, ArrayObject):
            stack.extend((item, automatic) for item in node)


def _check_dictionary(node: DictionaryObject, automatic: bool) -> None:
    action = node.get("/S")
    if action == "/JavaScript" or "/JS" in node or "/JavaScript" in node:
        raise UploadRejected(
            "the file contains JavaScript; save it without scripts and upload it again"
        )
    if action == "/Launch" or "/Launch" in node:
        raise UploadRejected("the file contains a Launch action, which could start a program")
    if (
        "/EmbeddedFiles" in node
        or (node.get("/Type") in ("/EmbeddedFile", "/Filespec") and "/EF" in node)
        or node.get("/Subtype") == "/FileAttachment"
        or action == "/GoToE"
    ):
        raise UploadRejected("the file contains an embedded file; upload a PDF without attachments")
    if action == "/URI":
        uri = node.get("/URI")
        target = str(uri.get_object()) if uri is not None else ""
        if automatic:
            raise UploadRejected("the file opens a web address by itself when it is read")
        scheme = urlsplit(target.strip()).scheme.lower()
        if scheme not in SAFE_LINK_SCHEMES:
            raise UploadRejected(
                "the file contains a link that opens something other than a web page or an "
                f"email ({scheme or 'no'} address)"
            )


def pdf_name(name: str | None, default: str = "document.pdf") -> str:
    """A name safe to store and send: no folders, only plain characters, always ending in .pdf."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"[^A-Za-z0-9._ -]", "_", base).strip(" .")
    stem = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", base).strip(" .") if base else ""
    if not stem:
        return default
    return stem[:196] + ".pdf"
