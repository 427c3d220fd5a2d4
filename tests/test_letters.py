"""Award letters: content, PDF/UA tagging and metadata, reproducibility, and the URL fetcher."""

from __future__ import annotations

import re
import struct
import zlib
from base64 import b64encode
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from pypdf.generic import BooleanObject
from weasyprint import HTML

from reports.letters import (
    TEMPLATE_VERSION,
    LetterData,
    LetterRenderError,
    RefusedURLError,
    SafeURLFetcher,
    ScheduledReport,
    amount_in_words,
    data_checksum,
    extract_text,
    html_to_pdf,
    letter_context,
    render_letter_html,
    render_letter_pdf,
    safe_url_fetcher,
)

NEW_YORK = ZoneInfo("America/New_York")

SCHEDULE = (
    ScheduledReport(
        kind="interim",
        title="First interim progress and financial report",
        period_start=date(2026, 7, 1),
        period_end=date(2026, 12, 31),
        due=date(2027, 1, 30),
    ),
    ScheduledReport(
        kind="interim",
        title="Second interim progress and financial report",
        period_start=date(2027, 1, 1),
        period_end=date(2027, 3, 31),
        due=date(2027, 4, 30),
    ),
    ScheduledReport(
        kind="final",
        title="Final performance and financial report",
        period_start=date(2026, 7, 1),
        period_end=date(2027, 6, 30),
        due=date(2027, 9, 28),
    ),
)


def make_letter(**changes: object) -> LetterData:
    data = LetterData(
        letter_date=date(2026, 5, 4),
        organization_legal_name="Riverside Sister Cities Association, Inc.",
        authorized_official_name="Maria L. Okafor",
        authorized_official_title="Executive Director",
        street_address="1200 Harbor Boulevard, Suite 410",
        city="Riverside",
        state="CA",
        zip_code="92501-3320",
        award_number="L2G-2026-A0007",
        application_reference="L2G-2026-0012",
        project_title="Climate-Ready Ports: A Riverside\u2013Valpara\u00edso Municipal Exchange",
        amount=Decimal("125000.00"),
        period_start=date(2026, 7, 1),
        period_end=date(2027, 6, 30),
        reporting_schedule=SCHEDULE,
        conditions=(
            "The recipient must administer this award in accordance with 2 CFR part 200.",
            "International travel must comply with the Fly America Act.",
            "Publications must acknowledge the Local-to-Global Engagement Fund.",
        ),
        acceptance_deadline=datetime(2026, 5, 29, 17, 0, tzinfo=NEW_YORK),
        time_zone="America/New_York",
        signing_officer_name="Jordan P. Whitfield",
        signing_officer_title="Grants Officer",
    )
    return replace(data, **changes) if changes else data


def squash(text: str) -> str:
    """Text without whitespace, so line breaks chosen by the layout do not matter."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(autouse=True)
def _database() -> Iterator[None]:
    """Letters need no Flask app or database: replace the suite's autouse database fixture."""
    yield


@pytest.fixture(scope="module")
def letter() -> LetterData:
    return make_letter()


@pytest.fixture(scope="module")
def pdf(letter: LetterData) -> bytes:
    return render_letter_pdf(letter)


@pytest.fixture(scope="module")
def text(pdf: bytes) -> str:
    return extract_text(pdf)


@pytest.fixture(scope="module")
def long_pdf() -> bytes:
    conditions = tuple(
        f"Condition {number}: the recipient must describe in each interim report how the "
        f"partner municipalities shared the results of activity {number} with their residents."
        for number in range(1, 41)
    )
    return render_letter_pdf(make_letter(conditions=conditions))


def png_data_uri() -> str:
    """A 2 x 2 navy PNG as a data: URI."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x16\x2e\x51" * 2 for _ in range(2))
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return "data:image/png;base64," + b64encode(png).decode("ascii")


def image_count(pdf_bytes: bytes) -> int:
    reader = PdfReader(BytesIO(pdf_bytes))
    count = 0
    for page in reader.pages:
        resources = page["/Resources"]
        if "/XObject" not in resources:
            continue
        for xobject in resources["/XObject"].values():
            if xobject.get_object().get("/Subtype") == "/Image":
                count += 1
    return count


def structure_tags(pdf_bytes: bytes) -> list[str]:
    """The structure element types of a tagged PDF, in document order."""
    reader = PdfReader(BytesIO(pdf_bytes))
    found: list[str] = []

    def walk(node: object) -> None:
        node = node.get_object() if hasattr(node, "get_object") else node
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            if "/S" in node:
                found.append(str(node["/S"]))
            if "/K" in node:
                walk(node["/K"])

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    return found


# Content --------------------------------------------------------------------------------------


def test_text_holds_amount_in_figures_and_words(text: str) -> None:
    assert "$125,000.00" in text
    assert squash("One hundred twenty-five thousand dollars and 00/100") in squash(text)


def test_text_holds_award_project_addressee_and_dates(letter: LetterData, text: str) -> None:
    flat = squash(text)
    for expected in (
        "Notice of Award No. L2G-2026-A0007",
        "L2G-2026-0012",
        letter.project_title,
        letter.organization_legal_name,
        "Attn: Maria L. Okafor, Executive Director",
        "1200 Harbor Boulevard, Suite 410",
        "Riverside, CA 92501-3320",
        "May 4, 2026",
        "July 1, 2026 through June 30, 2027",
        "May 29, 2026 at 5:00 PM EDT",
        "Jordan P. Whitfield",
        "Grants Officer",
        "Office of City and State Diplomacy",
        "Local-to-Global Engagement Fund",
    ):
        assert squash(expected) in flat, expected


def test_text_holds_every_schedule_row_in_order(text: str) -> None:
    flat = squash(text)
    positions = []
    for report in SCHEDULE:
        context_row = (
            f"{report.title} {report.kind.capitalize()} "
            f"{report.period_start:%B} {report.period_start.day}, {report.period_start.year} "
            f"\u2013 {report.period_end:%B} {report.period_end.day}, {report.period_end.year} "
            f"{report.due:%B} {report.due.day}, {report.due.year}"
        )
        assert squash(context_row) in flat, context_row
        positions.append(flat.index(squash(context_row)))
    assert positions == sorted(positions)


def test_text_holds_numbered_conditions_and_record(letter: LetterData, text: str) -> None:
    flat = squash(text)
    for condition in letter.conditions:
        assert squash(condition) in flat
    assert squash(f"template {TEMPLATE_VERSION}; data SHA-256 {data_checksum(letter)}") in flat


def test_context_formats_with_babel_and_num2words(letter: LetterData) -> None:
    context = letter_context(letter)
    assert context["amount_figures"] == "$125,000.00"
    assert context["amount_words"] == "One hundred twenty-five thousand dollars and 00/100"
    assert context["letter_date"] == "May 4, 2026"
    assert context["period_start"] == "July 1, 2026"
    assert context["acceptance_deadline"] == "May 29, 2026 at 5:00 PM EDT"
    assert context["time_zone_name"] == "Eastern Daylight Time"
    assert [row["due"] for row in context["reporting_schedule"]] == [
        "January 30, 2027",
        "April 30, 2027",
        "September 28, 2027",
    ]


def test_deadline_is_shown_in_the_rounds_time_zone() -> None:
    # 22:00 UTC on a winter day is 5:00 PM in New York (EST) and 2:00 PM in Los Angeles (PST).
    instant = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)
    east = letter_context(make_letter(acceptance_deadline=instant))
    west = letter_context(make_letter(acceptance_deadline=instant, time_zone="America/Los_Angeles"))
    assert east["acceptance_deadline"] == "December 1, 2026 at 5:00 PM EST"
    assert west["acceptance_deadline"] == "December 1, 2026 at 2:00 PM PST"


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("1", "One dollar and 00/100"),
        ("0.05", "Zero dollars and 05/100"),
        ("101.10", "One hundred one dollars and 10/100"),
        (
            "1234567.89",
            "One million two hundred thirty-four thousand five hundred sixty-seven dollars "
            "and 89/100",
        ),
    ],
)
def test_amount_in_words(amount: str, words: str) -> None:
    assert amount_in_words(Decimal(amount)) == words


def test_html_is_autoescaped_and_accessible() -> None:
    html = render_letter_html(make_letter(organization_legal_name="Smith & <b>Jones</b> LLC"))
    assert "Smith &amp; &lt;b&gt;Jones&lt;/b&gt; LLC" in html
    assert "<b>Jones</b>" not in html
    assert '<html lang="en">' in html
    assert "<caption>" in html
    assert html.count('scope="col"') == 4
    assert "url(" not in html.split("<body>", 1)[1]


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"acceptance_deadline": datetime(2026, 5, 29, 17, 0)}, ValueError),
        ({"amount": Decimal("10.005")}, ValueError),
        ({"amount": Decimal("-1")}, ValueError),
        ({"amount": 125000.0}, TypeError),
        ({"currency": "EUR"}, ValueError),
        ({"time_zone": "Mars/Olympus_Mons"}, ValueError),
        ({"period_end": date(2026, 6, 30)}, ValueError),
        ({"state": "California"}, ValueError),
        ({"letter_date": datetime(2026, 5, 4, 9, 0, tzinfo=UTC)}, TypeError),
    ],
)
def test_invalid_data_is_refused(changes: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        make_letter(**changes)


def test_scheduled_report_kind_is_checked() -> None:
    with pytest.raises(ValueError, match="kind"):
        replace(SCHEDULE[0], kind="quarterly")


# PDF: metadata, tagging, pages ---------------------------------------------------------------


def test_pdf_metadata_and_language(pdf: bytes) -> None:
    reader = PdfReader(BytesIO(pdf))
    metadata = reader.metadata
    assert metadata is not None
    assert metadata.title == "Notice of Award L2G-2026-A0007: Local-to-Global Engagement Fund"
    assert metadata.author == "Office of City and State Diplomacy"
    assert metadata.subject is not None
    assert "$125,000.00" in metadata.subject
    assert "Riverside Sister Cities Association, Inc." in metadata.subject
    assert metadata.creator == f"L2G {TEMPLATE_VERSION}"
    assert reader.trailer["/Root"]["/Lang"] == "en"


def test_pdf_is_tagged(pdf: bytes) -> None:
    catalog = PdfReader(BytesIO(pdf)).trailer["/Root"]
    assert "/StructTreeRoot" in catalog
    marked = catalog["/MarkInfo"]["/Marked"]
    assert isinstance(marked, BooleanObject)
    assert marked.value is True


def test_structure_has_ordered_headings_table_headers_and_a_described_seal(pdf: bytes) -> None:
    tags = structure_tags(pdf)
    headings = [tag for tag in tags if re.fullmatch(r"/H\d", tag)]
    assert headings[0] == "/H1"
    assert set(headings[1:]) == {"/H2"}
    for tag in ("/Table", "/Caption", "/TH", "/TD", "/L", "/LI", "/Figure"):
        assert tag in tags, tag

    reader = PdfReader(BytesIO(pdf))
    figures: list[object] = []

    def find_figures(node: object) -> None:
        node = node.get_object() if hasattr(node, "get_object") else node
        if isinstance(node, list):
            for item in node:
                find_figures(item)
        elif isinstance(node, dict):
            if node.get("/S") == "/Figure":
                figures.append(node)
            if "/K" in node:
                find_figures(node["/K"])

    find_figures(reader.trailer["/Root"]["/StructTreeRoot"])
    assert figures
    assert all("Seal of the" in str(figure.get("/Alt", "")) for figure in figures)


def test_every_page_has_award_number_and_page_n_of_m(pdf: bytes) -> None:
    reader = PdfReader(BytesIO(pdf))
    total = len(reader.pages)
    for number, page in enumerate(reader.pages, start=1):
        page_text = page.extract_text()
        assert "Award No. L2G-2026-A0007" in page_text
        assert f"Page {number} of {total}" in page_text


def test_long_letter_numbers_its_pages(long_pdf: bytes) -> None:
    reader = PdfReader(BytesIO(long_pdf))
    total = len(reader.pages)
    assert total >= 3
    text = extract_text(long_pdf)
    assert f"Page 2 of {total}" in text
    assert f"Page {total} of {total}" in text
    assert squash("Condition 40:") in squash(text)
    # Pages after the first carry a continuation header naming the recipient.
    assert "Riverside Sister Cities Association, Inc. \u2014 May 4, 2026" in (
        reader.pages[1].extract_text()
    )


# Reproducibility -----------------------------------------------------------------------------


def test_rendering_twice_gives_the_same_text_and_checksum(letter: LetterData, pdf: bytes) -> None:
    again = make_letter()
    assert again is not letter
    second = render_letter_pdf(again)
    assert extract_text(second) == extract_text(pdf)
    assert data_checksum(again) == data_checksum(letter)
    # The creation date comes from the letter date, so the bytes repeat too.
    assert second == pdf


def test_checksum_is_sha256_of_canonical_data(letter: LetterData) -> None:
    checksum = data_checksum(letter)
    assert re.fullmatch(r"[0-9a-f]{64}", checksum)
    # Equal values written differently are the same data.
    assert data_checksum(replace(letter, amount=Decimal("125000"))) == checksum
    utc_deadline = letter.acceptance_deadline.astimezone(UTC)
    assert data_checksum(replace(letter, acceptance_deadline=utc_deadline)) == checksum
    assert data_checksum(replace(letter, conditions=list(letter.conditions))) == checksum


@pytest.mark.parametrize(
    "changes",
    [
        {"amount": Decimal("125000.01")},
        {"award_number": "L2G-2026-A0008"},
        {"project_title": "Climate-Ready Ports"},
        {"conditions": ("Only one condition.",)},
        {"acceptance_deadline": datetime(2026, 5, 29, 18, 0, tzinfo=NEW_YORK)},
        {"time_zone": "America/Chicago"},
        {"reporting_schedule": (replace(SCHEDULE[0], due=date(2027, 1, 31)), *SCHEDULE[1:])},
    ],
)
def test_a_change_of_data_changes_the_checksum(
    letter: LetterData, changes: dict[str, object]
) -> None:
    assert data_checksum(replace(letter, **changes)) != data_checksum(letter)


# URL fetcher ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "http://example.com/logo.png",
        "https://example.com/letterhead.css",
        "ftp://example.com/seal.png",
        "//example.com/seal.png",
        "seal.png",
        "/etc/passwd",
    ],
)
def test_fetcher_refuses_files_and_remote_urls(url: str) -> None:
    with pytest.raises(RefusedURLError, match="refused"):
        safe_url_fetcher(url)
    with pytest.raises(ValueError, match="data: URIs only"):
        SafeURLFetcher().fetch(url)


def test_fetcher_serves_data_uris() -> None:
    response = safe_url_fetcher("data:text/css;charset=utf-8,p%20%7Bcolor%3A%20red%7D")
    assert response.read() == b"p {color: red}"
    assert response.content_type == "text/css"
    response.close()
    with pytest.raises(RefusedURLError, match="longer than"):
        safe_url_fetcher("data:text/plain," + "x" * 200, max_bytes=100)


def test_file_image_is_not_embedded_but_data_image_is() -> None:
    html = (
        '<html lang="en"><head><title>Fetch test</title></head><body>'
        '<p>Letterhead</p><img src="{src}" alt="Letterhead"></body></html>'
    )
    with_file = html.format(src="file:///etc/passwd")
    lenient = HTML(string=with_file, url_fetcher=SafeURLFetcher(fail_on_errors=False))
    assert image_count(lenient.write_pdf(pdf_variant="pdf/ua-1")) == 0
    with pytest.raises(LetterRenderError, match="data: URIs only"):
        html_to_pdf(with_file)
    with pytest.raises(LetterRenderError, match="http: URLs"):
        html_to_pdf(html.format(src="http://127.0.0.1:9/seal.png"))
    assert image_count(html_to_pdf(html.format(src=png_data_uri()))) == 1


def test_remote_stylesheet_is_refused() -> None:
    html = (
        '<html lang="en"><head><title>Fetch test</title>'
        '<link rel="stylesheet" href="https://example.com/letter.css"></head>'
        "<body><p>Body</p></body></html>"
    )
    with pytest.raises(LetterRenderError, match="https: URLs"):
        html_to_pdf(html)
