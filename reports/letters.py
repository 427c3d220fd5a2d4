"""Award letters: the data a letter is made from, and its HTML and tagged PDF renderings.

A letter is reproducible: the same `LetterData` rendered with the same `TEMPLATE_VERSION`
gives the same text, and `data_checksum` identifies the data it was made from. Rendering
loads nothing from the file system or the network: the PDF URL fetcher accepts only
``data:`` URIs.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any, Literal
from urllib import request
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from babel.dates import format_date, format_time, get_timezone_name
from babel.numbers import format_currency
from num2words import num2words
from pypdf import PdfReader
from weasyprint import HTML
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

__all__ = [
    "MAX_DATA_URI_BYTES",
    "OFFICE_NAME",
    "PDF_VARIANT",
    "PROGRAM_NAME",
    "TEMPLATES_DIR",
    "TEMPLATE_NAME",
    "TEMPLATE_VERSION",
    "LetterData",
    "LetterRenderError",
    "RefusedURLError",
    "SafeURLFetcher",
    "ScheduledReport",
    "amount_in_words",
    "canonical_json",
    "data_checksum",
    "default_environment",
    "extract_text",
    "html_to_pdf",
    "letter_context",
    "render_letter_html",
    "render_letter_pdf",
    "safe_url_fetcher",
]

#: Recorded with every letter; change it whenever the template's output changes.
TEMPLATE_VERSION = "award-letter/1"
TEMPLATE_NAME = "letters/award_letter.html"
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

PROGRAM_NAME = "Local-to-Global Engagement Fund"
OFFICE_NAME = "Office of City and State Diplomacy"
LOCALE = "en_US"
PDF_VARIANT = "pdf/ua-1"
#: Largest decoded ``data:`` URI (a letterhead image, say) a letter may embed.
MAX_DATA_URI_BYTES = 2_000_000

ReportKind = Literal["interim", "final"]
REPORT_KINDS: tuple[str, ...] = ("interim", "final")

_STATE_RE = re.compile(r"[A-Z]{2}")
_ZIP_RE = re.compile(r"\d{5}(-\d{4})?")
_SCHEME_RE = re.compile(r"([a-zA-Z][a-zA-Z0-9.+-]*):")
_CENT = Decimal("0.01")


# Data -----------------------------------------------------------------------------------------


def _require_text(owner: str, name: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{owner}.{name} must be a non-empty string")


def _require_date(owner: str, name: str, value: object) -> None:
    # A datetime is a date too; a letter's calendar dates must not carry a time.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise TypeError(f"{owner}.{name} must be a datetime.date, not {type(value).__name__}")


@dataclass(frozen=True, kw_only=True)
class ScheduledReport:
    """One report the recipient owes: its kind, what it covers and when it is due."""

    kind: ReportKind
    title: str
    period_start: date
    period_end: date
    due: date

    def __post_init__(self) -> None:
        if self.kind not in REPORT_KINDS:
            raise ValueError(f"ScheduledReport.kind must be one of {REPORT_KINDS}: {self.kind!r}")
        _require_text("ScheduledReport", "title", self.title)
        for name in ("period_start", "period_end", "due"):
            _require_date("ScheduledReport", name, getattr(self, name))
        if self.period_end < self.period_start:
            raise ValueError(f"report {self.title!r} ends before it starts")
        if self.due < self.period_end:
            raise ValueError(f"report {self.title!r} is due before its period ends")


@dataclass(frozen=True, kw_only=True)
class LetterData:
    """Everything an award letter shows. Immutable, so a letter can be reproduced from it."""

    letter_date: date
    organization_legal_name: str
    authorized_official_name: str
    authorized_official_title: str
    street_address: str
    city: str
    state: str
    zip_code: str
    award_number: str
    application_reference: str
    project_title: str
    amount: Decimal
    period_start: date
    period_end: date
    reporting_schedule: tuple[ScheduledReport, ...]
    conditions: tuple[str, ...]
    acceptance_deadline: datetime
    time_zone: str
    signing_officer_name: str
    signing_officer_title: str
    street_address_2: str = ""
    currency: str = "USD"
    program_name: str = PROGRAM_NAME
    office: str = OFFICE_NAME

    def __post_init__(self) -> None:
        owner = "LetterData"
        # Accept lists for the sequences but keep the instance hashable and immutable.
        object.__setattr__(self, "reporting_schedule", tuple(self.reporting_schedule))
        object.__setattr__(self, "conditions", tuple(self.conditions))
        for name in (
            "organization_legal_name",
            "authorized_official_name",
            "authorized_official_title",
            "street_address",
            "city",
            "award_number",
            "application_reference",
            "project_title",
            "time_zone",
            "signing_officer_name",
            "signing_officer_title",
            "program_name",
            "office",
        ):
            _require_text(owner, name, getattr(self, name))
        if not isinstance(self.street_address_2, str):
            raise TypeError("LetterData.street_address_2 must be a string")
        for name in ("letter_date", "period_start", "period_end"):
            _require_date(owner, name, getattr(self, name))
        if not _STATE_RE.fullmatch(self.state):
            raise ValueError(f"LetterData.state must be a two-letter code: {self.state!r}")
        if not _ZIP_RE.fullmatch(self.zip_code):
            raise ValueError(f"LetterData.zip_code must be 12345 or 12345-6789: {self.zip_code!r}")
        if self.currency != "USD":
            raise ValueError(f"award letters are issued in USD only, not {self.currency!r}")
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise TypeError("LetterData.amount must be a finite Decimal")
        if self.amount <= 0:
            raise ValueError("LetterData.amount must be positive")
        if self.amount != self.amount.quantize(_CENT):
            raise ValueError(f"LetterData.amount has fractions of a cent: {self.amount}")
        if self.period_end < self.period_start:
            raise ValueError("the period of performance ends before it starts")
        if not self.reporting_schedule:
            raise ValueError("LetterData.reporting_schedule must list at least one report")
        for report in self.reporting_schedule:
            if not isinstance(report, ScheduledReport):
                raise TypeError("LetterData.reporting_schedule must hold ScheduledReport items")
        for condition in self.conditions:
            _require_text(owner, "conditions[]", condition)
        deadline = self.acceptance_deadline
        if not isinstance(deadline, datetime):
            raise TypeError("LetterData.acceptance_deadline must be a datetime")
        if deadline.tzinfo is None or deadline.utcoffset() is None:
            raise ValueError("LetterData.acceptance_deadline must be timezone-aware")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.time_zone!r}") from exc


# Display strings ------------------------------------------------------------------------------


def _integer_words(number: int) -> str:
    # num2words writes British English ("one hundred and one, ..."); U.S. legal style drops
    # the "and" and the commas ("one hundred one").
    words = num2words(number, lang="en").replace(",", "")
    return " ".join(word for word in words.split() if word != "and")


def amount_in_words(amount: Decimal) -> str:
    """Write a dollar amount the way a legal document does.

    >>> amount_in_words(Decimal("125000"))
    'One hundred twenty-five thousand dollars and 00/100'
    """
    cents_total = int(amount.quantize(_CENT) * 100)
    if cents_total < 0:
        raise ValueError("amount must not be negative")
    dollars, cents = divmod(cents_total, 100)
    unit = "dollar" if dollars == 1 else "dollars"
    text = f"{_integer_words(dollars)} {unit} and {cents:02d}/100"
    return text[0].upper() + text[1:]


def _long_date(value: date) -> str:
    return format_date(value, format="long", locale=LOCALE)


def _deadline_parts(data: LetterData) -> dict[str, str]:
    zone = ZoneInfo(data.time_zone)
    local = data.acceptance_deadline.astimezone(zone)
    # An explicit pattern keeps an ordinary space before AM/PM (CLDR's "short" time uses a
    # narrow no-break space, which text extraction and search handle badly).
    clock = format_time(local, "h:mm a", tzinfo=zone, locale=LOCALE)
    abbreviation = local.tzname() or data.time_zone
    date_text = _long_date(local.date())
    return {
        "acceptance_deadline": f"{date_text} at {clock} {abbreviation}",
        "acceptance_deadline_date": date_text,
        "acceptance_deadline_time": f"{clock} {abbreviation}",
        "acceptance_deadline_iso": local.isoformat(),
        "time_zone_abbreviation": abbreviation,
        "time_zone_name": get_timezone_name(local, locale=LOCALE),
    }


def letter_context(data: LetterData) -> dict[str, Any]:
    """The strings the letter template shows, formatted for U.S. English."""
    amount_figures = format_currency(data.amount, data.currency, locale=LOCALE)
    amount_words = amount_in_words(data.amount)
    city_line = f"{data.city}, {data.state} {data.zip_code}"
    address_lines = [data.street_address]
    if data.street_address_2.strip():
        address_lines.append(data.street_address_2)
    address_lines.append(city_line)
    schedule = [
        {
            "kind": report.kind,
            "kind_label": report.kind.capitalize(),
            "title": report.title,
            "period_start": _long_date(report.period_start),
            "period_end": _long_date(report.period_end),
            "due": _long_date(report.due),
        }
        for report in data.reporting_schedule
    ]
    checksum = data_checksum(data)
    return {
        "template_version": TEMPLATE_VERSION,
        "data_checksum": checksum,
        "program_name": data.program_name,
        "office": data.office,
        "letter_date": _long_date(data.letter_date),
        "letter_date_iso": data.letter_date.isoformat(),
        "organization_legal_name": data.organization_legal_name,
        "authorized_official_name": data.authorized_official_name,
        "authorized_official_title": data.authorized_official_title,
        "address_lines": address_lines,
        "award_number": data.award_number,
        "application_reference": data.application_reference,
        "project_title": data.project_title,
        "currency": data.currency,
        "amount_figures": amount_figures,
        "amount_words": amount_words,
        "period_start": _long_date(data.period_start),
        "period_end": _long_date(data.period_end),
        "reporting_schedule": schedule,
        "conditions": list(data.conditions),
        "time_zone": data.time_zone,
        **_deadline_parts(data),
        "signing_officer_name": data.signing_officer_name,
        "signing_officer_title": data.signing_officer_title,
        "document_title": f"Notice of Award {data.award_number}: {data.program_name}",
        "document_author": data.office,
        "document_subject": (
            f"Notice of award of {amount_figures} to {data.organization_legal_name} "
            f"for the project \u201c{data.project_title}\u201d under the {data.program_name}"
        ),
        "document_keywords": [
            "Notice of award",
            data.award_number,
            data.application_reference,
            f"data-sha256:{checksum}",
        ],
        "document_generator": f"L2G {TEMPLATE_VERSION}",
    }


# Reproducibility ------------------------------------------------------------------------------


def _canonical(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {field.name: _canonical(getattr(value, field.name)) for field in fields(value)}
    if isinstance(value, tuple | list):
        return [_canonical(item) for item in value]
    if isinstance(value, Decimal):
        return str(value.quantize(_CENT))
    if isinstance(value, datetime):
        # The same instant gives the same letter whatever offset it was given in.
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | bool):
        return value
    raise TypeError(f"cannot canonicalize {type(value).__name__}")


def canonical_json(data: LetterData) -> str:
    """The letter data as JSON with sorted keys, Decimals and dates as strings."""
    return json.dumps(_canonical(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def data_checksum(data: LetterData) -> str:
    """SHA-256 (hex) of `canonical_json`: equal data always gives an equal checksum."""
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


# HTML -----------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def default_environment() -> jinja2.Environment:
    """The Jinja2 environment for letters: the project's templates, autoescaped, strict."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_letter_html(data: LetterData, env: jinja2.Environment | None = None) -> str:
    """Render the award letter to an HTML string (the input of `html_to_pdf`)."""
    environment = env if env is not None else default_environment()
    template = environment.get_template(TEMPLATE_NAME)
    return template.render(letter_context(data))


# PDF ------------------------------------------------------------------------------------------


class RefusedURLError(ValueError):
    """A letter asked to load a resource other than a ``data:`` URI."""


class LetterRenderError(RuntimeError):
    """A letter could not be rendered to PDF."""


def _shorten(url: str, limit: int = 80) -> str:
    return url if len(url) <= limit else url[: limit - 1] + "\u2026"


def safe_url_fetcher(
    url: str,
    headers: dict[str, str] | None = None,
    *,
    max_bytes: int = MAX_DATA_URI_BYTES,
) -> URLFetcherResponse:
    """Fetch ``url`` for WeasyPrint if it is a ``data:`` URI; refuse everything else.

    ``file://``, ``http://``, ``https://``, ``ftp://`` and any other scheme, or a relative
    reference, raise `RefusedURLError` (a `ValueError`).
    """
    match = _SCHEME_RE.match(url)
    scheme = match[1].lower() if match else None
    if scheme != "data":
        kind = f"{scheme}: URLs" if scheme else "relative URLs"
        raise RefusedURLError(
            f"refused to fetch {_shorten(url)!r}: letters may embed data: URIs only, not {kind}"
        )
    # A data URI's base64 text is 4/3 of its bytes; refuse long ones before decoding them.
    if len(url) > max_bytes * 4 // 3 + 1024:
        raise RefusedURLError(f"data: URI longer than {max_bytes} bytes")
    try:
        with request.DataHandler().data_open(request.Request(url)) as response:
            body = response.read()
            content_type = response.headers.get("Content-Type", "text/plain")
    except ValueError as exc:
        raise RefusedURLError(f"malformed data: URI {_shorten(url)!r}: {exc}") from exc
    if len(body) > max_bytes:
        raise RefusedURLError(f"data: URI longer than {max_bytes} bytes")
    return URLFetcherResponse(url, body, headers={"Content-Type": content_type})


class SafeURLFetcher(URLFetcher):
    """A WeasyPrint 70 URL fetcher that serves ``data:`` URIs and refuses every other URL.

    With ``fail_on_errors=True`` (the default) a refused URL stops the rendering; with
    ``False`` WeasyPrint logs it and leaves the resource out.
    """

    def __init__(self, *, fail_on_errors: bool = True, max_bytes: int = MAX_DATA_URI_BYTES) -> None:
        super().__init__(
            allowed_protocols=("data",), allow_redirects=False, fail_on_errors=fail_on_errors
        )
        self.max_bytes = max_bytes

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        return safe_url_fetcher(url, headers, max_bytes=self.max_bytes)


def html_to_pdf(html: str) -> bytes:
    """Render letter HTML to a tagged PDF/UA-1 document, loading only ``data:`` URIs.

    Title, author, subject and language come from the HTML's ``<title>``, ``<meta>`` and
    ``<html lang>``. Raises `LetterRenderError` if the HTML refers to any other URL.
    """
    try:
        return HTML(string=html, url_fetcher=SafeURLFetcher()).write_pdf(pdf_variant=PDF_VARIANT)
    except FatalURLFetchingError as exc:
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        raise LetterRenderError(f"letter refers to a resource it may not load: {cause}") from exc


def render_letter_pdf(data: LetterData, env: jinja2.Environment | None = None) -> bytes:
    """Render the award letter for ``data`` to PDF/UA-1 bytes."""
    return html_to_pdf(render_letter_html(data, env))


def extract_text(pdf_bytes: bytes) -> str:
    """The text of every page of a PDF, pages separated by form feeds."""
    reader = PdfReader(BytesIO(pdf_bytes))
    return "\f".join(page.extract_text() for page in reader.pages)
