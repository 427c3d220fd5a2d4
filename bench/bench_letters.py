"""Award-letter rendering benchmark and visual check.

``python -m bench.bench_letters`` times `reports.letters.render_letter_pdf` (template, formatting,
safe URL fetcher, PDF/UA-1) against WeasyPrint alone rendering the same HTML, and writes a
sample letter as PNG pages to ``bench/out/`` for a person to look at.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from weasyprint import HTML

from reports.letters import (
    PDF_VARIANT,
    TEMPLATE_VERSION,
    LetterData,
    ScheduledReport,
    data_checksum,
    render_letter_html,
    render_letter_pdf,
)

OUT_DIR = Path(__file__).resolve().parent / "out"
TARGET_RATIO = 1.15

SAMPLE_CONDITIONS = (
    "The recipient must administer this award in accordance with 2 CFR part 200, Uniform "
    "Administrative Requirements, Cost Principles, and Audit Requirements for Federal Awards.",
    "Funds may be used only for the activities, budget and period of performance approved in "
    "application L2G-2026-0012. Budget changes above 10 percent of any cost category require "
    "prior written approval from the grants officer.",
    "International travel funded by this award must comply with the Fly America Act and be "
    "reported in the next interim report.",
    "The recipient must acknowledge the support of the Local-to-Global Engagement Fund in "
    "publications, events and public statements about the project.",
    "The recipient must keep financial records, supporting documents and statistical records for "
    "three years after the submission of the final report.",
    "The recipient must report any change of authorized official, address or banking details "
    "within 15 days of the change.",
)


def sample_letter_data(extra_conditions: int = 0, **changes: object) -> LetterData:
    """A realistic letter; ``extra_conditions`` adds numbered conditions to make it longer."""
    conditions = SAMPLE_CONDITIONS + tuple(
        f"Additional program condition {number}: the recipient must describe in each interim "
        f"report how the project's partner municipalities shared the results of activity {number}."
        for number in range(1, extra_conditions + 1)
    )
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
        reporting_schedule=(
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
        ),
        conditions=conditions,
        acceptance_deadline=datetime(2026, 5, 29, 17, 0, tzinfo=ZoneInfo("America/New_York")),
        time_zone="America/New_York",
        signing_officer_name="Jordan P. Whitfield",
        signing_officer_title="Grants Officer",
    )
    return replace(data, **changes) if changes else data


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


def run(letters: int = 20, warmup: int = 3) -> dict[str, object]:
    """Time ``letters`` renders each way (interleaved) and report medians per letter.

    ``full`` is `render_letter_pdf` from data; ``weasyprint_only`` is
    ``HTML(string=html).write_pdf(pdf_variant="pdf/ua-1")`` on the same, pre-rendered HTML.
    """
    data = [
        sample_letter_data(award_number=f"L2G-2026-A{number:04d}")
        for number in range(1, letters + 1)
    ]
    html = [render_letter_html(item) for item in data]
    for item, text in zip(data[:warmup], html[:warmup], strict=False):
        render_letter_pdf(item)
        HTML(string=text).write_pdf(pdf_variant=PDF_VARIANT)

    full: list[float] = []
    baseline: list[float] = []
    sizes: list[int] = []
    for item, text in zip(data, html, strict=True):
        start = time.perf_counter()
        pdf = render_letter_pdf(item)
        full.append(time.perf_counter() - start)
        sizes.append(len(pdf))
        start = time.perf_counter()
        HTML(string=text).write_pdf(pdf_variant=PDF_VARIANT)
        baseline.append(time.perf_counter() - start)

    full_ms = _median_ms(full)
    baseline_ms = _median_ms(baseline)
    ratio = round(full_ms / baseline_ms, 3)
    return {
        "letters": letters,
        "template_version": TEMPLATE_VERSION,
        "pdf_variant": PDF_VARIANT,
        "full_ms_per_letter": full_ms,
        "weasyprint_only_ms_per_letter": baseline_ms,
        "ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "within_target": ratio <= TARGET_RATIO,
        "median_pdf_bytes": int(statistics.median(sizes)),
    }


def render_sample_pngs(
    out_dir: Path = OUT_DIR, extra_conditions: int = 0, stem: str = "sample_letter"
) -> list[Path]:
    """Render a sample letter to ``out_dir/<stem>.pdf`` and its pages to PNG at 80 dpi."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise RuntimeError("pdftoppm not found: install poppler-utils")
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob(f"{stem}-*.png"):
        old.unlink()
    data = sample_letter_data(extra_conditions=extra_conditions)
    pdf_path = out_dir / f"{stem}.pdf"
    pdf_path.write_bytes(render_letter_pdf(data))
    (out_dir / f"{stem}.sha256").write_text(f"{data_checksum(data)}  {TEMPLATE_VERSION}\n")
    subprocess.run(
        [pdftoppm, "-png", "-r", "80", str(pdf_path), str(out_dir / stem)],
        check=True,
        capture_output=True,
    )
    return sorted(out_dir.glob(f"{stem}-*.png"))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    letters = int(args[0]) if args else 20
    result = run(letters=letters)
    pages = render_sample_pngs()
    pages += render_sample_pngs(extra_conditions=30, stem="long_letter")
    result["png_pages"] = [str(path) for path in pages]
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
