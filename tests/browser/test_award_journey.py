"""Deciding a scored round and accepting an award, through the pages only, with axe-core on every
page.

An officer opens the funding line of a scored round, awards the second-ranked application at its
request, is refused when declining the first-ranked one without a justification (a lower-ranked one
is now funded), gives one, and waitlists the third. The officer builds the award package, watches
its progress bar (the page updates itself in place) until the download link appears and downloads
the ZIP.
The grantee signs in, opens the award, downloads its letter and accepts it as the authorized
official.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Frame, Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models.application import Application
from app.models.award import Award
from tests.browser.test_applicant_journey import flashed
from tests.browser.test_review_journey import heading, sign_in, sign_out
from tests.decision_helpers import scored_round

if TYPE_CHECKING:
    from collections.abc import Callable

    from app.models.round import Round
    from tests.browser.conftest import PageAudit
    from tests.factories import Factory

DECLINE_REASON = "Already funded for the same exchange by another federal program this year."
PACKAGE_TIMEOUT_MS = 60_000


def decide(page: Page, audit: PageAudit, rnd: Round, apps: list[Application]) -> None:
    top, funded, waitlisted = (a.reference for a in apps)
    page.get_by_role("link", name=rnd.title).click()
    heading(page, rnd.title)
    audit(page, "round")
    page.get_by_role("link", name="Decisions and funding line").click()
    heading(page, f"Decisions: {rnd.title}")
    remaining = page.locator("#budget-remaining")
    expect(remaining).to_have_text("$1,000,000.00")
    expect(page.get_by_text("3 ranked applications, 3 still to decide")).to_be_visible()
    audit(page, "funding-line")

    # Award the second-ranked application at its request.
    row = page.get_by_role("row").filter(has_text=funded)
    expect(row.get_by_label(f"Amount to award {funded} (USD)")).to_have_value("100000.00")
    row.get_by_role("button", name=f"Award {funded}").click()
    flashed(page, re.compile(rf"Done: award {funded} \(L2G-\d{{4}}-A\d+, 100,000\.00 USD\)\."))
    expect(remaining).to_have_text("$900,000.00")
    expect(page.get_by_role("row").filter(has_text=funded)).to_contain_text("(offered)")

    # Declining the best-ranked one now passes over a funded one: a justification is needed.
    decline_top = page.get_by_role("row").filter(has_text=top).get_by_role("button", name="Decline")
    decline_top.click()
    problems = page.get_by_role("alert").filter(has_text="Not done: 1 problem to fix")
    expect(problems).to_contain_text("a justification is needed")
    justification = page.get_by_label(f"Justification for {top}")
    expect(justification).to_have_attribute("aria-invalid", "true")
    audit(page, "funding-line-refused")
    problems.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"#justification-{apps[0].id}$"))
    justification.fill(DECLINE_REASON)
    decline_top.click()
    flashed(page, f"Done: decline {top}.")

    row = page.get_by_role("row").filter(has_text=waitlisted)
    row.get_by_role("button", name=f"Waitlist {waitlisted}").click()
    flashed(page, f"Done: waitlist {waitlisted}.")
    # A waitlisted application can still be awarded or declined: it is not decided yet.
    expect(page.get_by_text("3 ranked applications, 1 still to decide")).to_be_visible()
    for reference, state in ((top, "Declined"), (funded, "Awarded"), (waitlisted, "Waitlisted")):
        expect(page.get_by_role("row").filter(has_text=reference)).to_contain_text(state)
    expect(remaining).to_have_text("$900,000.00")
    audit(page, "funding-line-decided")


def build_package(page: Page, audit: PageAudit, tmp_path: Path) -> None:
    """Start the build and watch the bar: the page updates itself in place until the link to the
    ZIP appears (at once without Redis, where the job runs inline; under the rq worker after a
    few seconds)."""
    page.get_by_role("button", name="Build the award package").click()
    heading(page, re.compile("^Award package: "))
    bar = page.get_by_role("progressbar", name=re.compile("^Progress of the build"))
    expect(bar).to_be_visible()
    download = page.get_by_role("link", name="Download the award package (ZIP)")
    if download.count() == 0:  # still building: watch the bar move, on this very page
        reloads: list[str] = []

        def navigated(frame: Frame) -> None:
            reloads.append(frame.url)

        page.on("framenavigated", navigated)
        audit(page, "package-building")
        seen = []
        deadline = time.monotonic() + PACKAGE_TIMEOUT_MS / 1000
        while download.count() == 0 and time.monotonic() < deadline:
            seen.append(int(bar.get_attribute("value") or 0))
            page.wait_for_timeout(200)
        assert seen == sorted(seen), seen  # the bar only moves forward
        page.remove_listener("framenavigated", navigated)
        assert not reloads, reloads  # updated in place, never reloaded
    expect(download).to_be_visible(timeout=PACKAGE_TIMEOUT_MS)
    expect(bar).to_have_attribute("value", "100")
    expect(page.get_by_role("status").filter(has_text="100%: ready to download")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="The package is ready")).to_be_visible()
    audit(page, "package-ready")

    with page.expect_download() as info:
        download.click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.name.endswith(".zip")
    with zipfile.ZipFile(saved) as package:
        names = set(package.namelist())
        manifest = json.loads(package.read("manifest.json"))
        listed = {f["path"]: f["sha256"] for f in manifest["files"]}
        assert all(hashlib.sha256(package.read(p)).hexdigest() == h for p, h in listed.items())
    assert manifest["award_count"] == 1
    assert "awards.csv" in listed and set(listed) == names - {"manifest.json"}
    assert any(n.startswith("letters/") and n.endswith(".pdf") for n in listed), listed


def accept_award(page: Page, audit: PageAudit, award: Award, tmp_path: Path) -> None:
    expect(page.get_by_role("row").filter(has_text="Sister-city climate exchange")).to_contain_text(
        "Awarded"
    )
    audit(page, "grantee-dashboard")
    page.get_by_role("navigation", name="Primary navigation").get_by_role(
        "link", name="Awards"
    ).click()
    heading(page, "Awards")
    row = page.get_by_role("row").filter(has_text=award.number)
    expect(row).to_contain_text("Offered")
    audit(page, "grantee-awards")
    row.get_by_role("link", name=award.number).click()
    heading(page, f"Award {award.number}")
    expect(page.get_by_text("$100,000.00")).to_be_visible()
    audit(page, "grantee-award")

    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("^Download the award letter")).click()
    letter = tmp_path / info.value.suggested_filename
    info.value.save_as(letter)
    assert letter.name.startswith(award.number) and letter.name.endswith(".pdf")
    assert letter.read_bytes().startswith(b"%PDF-")

    accept = page.get_by_role("group", name="Accept the award")
    accept.get_by_label("Your full name").fill("Alex Mayor")
    accept.get_by_label("Your title").fill("Mayor")
    accept.locator("label.usa-checkbox__label").click()
    expect(accept.get_by_role("checkbox")).to_be_checked()
    audit(page, "grantee-accepting")
    accept.get_by_role("button", name="Accept the award").click()

    flashed(page, f"You accepted award {award.number}.")
    summary = page.get_by_role("region", name="Acceptance")
    expect(summary).to_contain_text("Accepted by Alex Mayor, Mayor, on")
    expect(page.get_by_role("button", name="Accept the award")).to_have_count(0)
    expect(page.get_by_role("table", name="The impact reports this award owes")).to_be_visible()
    audit(page, "grantee-accepted")


@pytest.mark.browser
def test_officer_decides_and_exports_the_package_and_grantee_accepts(
    page: Page,
    audit: PageAudit,
    make: Factory,
    wait_for_jobs: Callable[[], None],
    tmp_path: Path,
) -> None:
    officer = make.officer(name="Olivia Grant", email="olivia.grant@state.example.gov")
    grantee = make.applicant(name="Pat Lee", email="pat.lee@springfield.example.gov")
    rnd, apps = scored_round(
        make,
        officer,
        [Decimal(120_000), Decimal(100_000), Decimal(80_000)],
        scores=[2, 3, 4],
        users=[None, grantee, None],
        title="Sister Cities 2027",
    )

    sign_in(page, officer, make.password)
    heading(page, "Rounds")
    decide(page, audit, rnd, apps)
    build_package(page, audit, tmp_path)
    sign_out(page)

    db.session.expire_all()
    award = db.session.scalar(select(Award).where(Award.application_id == apps[1].id))
    assert award is not None and award.amount == Decimal(100_000)
    wait_for_jobs()  # the letter's job: inline without Redis, the rq worker with it
    sign_in(page, grantee, make.password)
    accept_award(page, audit, award, tmp_path)

    db.session.expire_all()
    states = [db.session.get(Application, a.id).state for a in apps]
    assert states == ["declined", "awarded", "waitlisted"]
    accepted = db.session.get(Award, award.id)
    assert accepted.state == "accepted" and accepted.accepted_name == "Alex Mayor"
    assert accepted.accepted_by_id == grantee.id
    audit.assert_clean()
