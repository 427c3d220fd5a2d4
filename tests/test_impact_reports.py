"""Impact reports: schedules, reminders, the lifecycle per role, filing, review and closeout."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from app.domain import INDICATORS
from app.extensions import db
from app.jobs import commit
from app.models.award import Award
from app.models.impact_report import ImpactReport, ReportSubmission
from app.models.outbox import EmailMessage
from app.models.user import User
from app.services import impact_reports as svc
from app.services.awards import reporting_schedule
from tests.factories import Factory
from tests.test_grantee import make_award
from workflows import SYSTEM, TransitionRefused, available, fire

FULL = {code: Decimal(index + 1) for index, code in enumerate(INDICATORS)}


def accepted_award(make: Factory, wait_for_jobs: Callable[[], None]) -> tuple[Award, User]:
    award = make_award(make, wait_for_jobs)
    grantee = db.session.scalar(select(User).where(User.organization_id == award.organization_id))
    assert grantee is not None
    fire(award, "accept", grantee, data={"name": "Jo Lee", "title": "Mayor", "consent": True})
    commit()
    return award, grantee


def reports_of(award: Award) -> list[ImpactReport]:
    return list(
        db.session.scalars(
            select(ImpactReport)
            .where(ImpactReport.award_id == award.id)
            .order_by(ImpactReport.due_on)
        )
    )


def fill(report: ImpactReport, **indicators: Any) -> None:
    values = {
        "indicators": {**FULL, **indicators},
        "accomplishments": "Signed two MOUs.",
        "challenges": "Travel delays.",
        "next_period_plans": "Host a delegation.",
    }
    svc.save_draft(report, values, report.version)
    commit()


# --- schedules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("months", "interims"),
    [(6, 0), (12, 1), (13, 2), (18, 2), (24, 3)],
)
def test_schedule_has_semiannual_reports_and_a_final_one_120_days_after_the_end(
    months: int, interims: int
) -> None:
    start = date(2027, 1, 1)
    from app.services.awards import add_months

    end = add_months(start, months) - timedelta(days=1)
    schedule = reporting_schedule(start, end)
    assert [e.kind for e in schedule] == ["interim"] * interims + ["final"]
    final = schedule[-1]
    assert final.due == end + timedelta(days=120)
    assert final.period_end == end
    # Periods tile the award without gap or overlap, so their values add up to its totals.
    assert schedule[0].period_start == start
    for before, after in itertools.pairwise(schedule):
        assert after.period_start == before.period_end + timedelta(days=1)
    for entry in schedule[:-1]:
        assert entry.due == entry.period_end + timedelta(days=30)
        assert (entry.period_end - entry.period_start).days < 185


def test_a_round_can_set_its_own_interval_and_final_delay() -> None:
    schedule = reporting_schedule(date(2027, 1, 1), date(2027, 12, 31), 3, 90)
    assert [e.kind for e in schedule] == ["interim"] * 3 + ["final"]
    assert schedule[-1].due == date(2027, 12, 31) + timedelta(days=90)


def test_accepting_an_award_creates_its_reports(make: Factory, wait_for_jobs: Any) -> None:
    award, _ = accepted_award(make, wait_for_jobs)
    reports = reports_of(award)
    assert [r.kind for r in reports][-1] == "final"
    assert all(r.state == "scheduled" for r in reports)
    assert reports[-1].due_on == award.end_date + timedelta(days=award.round.final_report_days)


# --- computed status and reminders ------------------------------------------------------------


def test_due_soon_and_overdue_are_computed_from_the_due_date() -> None:
    report = ImpactReport(state="scheduled", due_on=date(2027, 7, 30))
    assert svc.due_status(report, date(2027, 7, 1)) == ("upcoming", 29)
    assert svc.due_status(report, date(2027, 7, 16)) == ("due_soon", 14)
    assert svc.due_status(report, date(2027, 7, 30)) == ("due_soon", 0)
    assert svc.due_status(report, date(2027, 8, 2)) == ("overdue", 3)
    report.state = "submitted"
    assert svc.due_status(report, date(2027, 8, 2)) == ("done", 0)


def _emails(prefix: str) -> list[str]:
    return list(
        db.session.scalars(
            select(EmailMessage.dedupe_key).where(EmailMessage.dedupe_key.like(prefix + "%"))
        )
    )


def test_reminders_are_sent_once_per_threshold_however_often_the_job_runs(
    make: Factory, wait_for_jobs: Any, freeze: Callable[[datetime | None], None]
) -> None:
    officer_count = 1  # make_award creates one officer
    award, _ = accepted_award(make, wait_for_jobs)
    report = reports_of(award)[0]
    due = report.due_on
    at = lambda d: datetime(d.year, d.month, d.day, 15, tzinfo=UTC)  # noqa: E731
    prefix = f"report-reminder:{report.id}:"

    def run(day: date) -> int:
        freeze(at(day))
        sent = svc.send_reminders(at(day))
        commit()
        return sent

    assert run(due - timedelta(days=15)) == 0
    assert run(due - timedelta(days=14)) == 1  # the grantee's one user
    assert run(due - timedelta(days=13)) == 0
    assert run(due - timedelta(days=1)) == 0
    assert run(due) == 0  # due today: not overdue yet
    assert run(due + timedelta(days=1)) == 1 + officer_count  # first overdue: grantee and officer
    for day in range(2, 8):
        assert run(due + timedelta(days=day)) == 0
    assert run(due + timedelta(days=8)) == 1 + officer_count  # weekly while overdue
    assert run(due + timedelta(days=8)) == 0
    assert run(due + timedelta(days=15)) == 1 + officer_count
    assert len(_emails(prefix)) == 1 + 3 * (1 + officer_count)
    # Filed: no more reminders.
    report = db.session.get(ImpactReport, report.id)
    fill(report)
    fire(
        report,
        "submit",
        db.session.scalar(select(User).where(User.organization_id == award.organization_id)),
    )
    commit()
    assert run(due + timedelta(days=22)) == 0


def test_moving_a_due_date_restarts_its_reminders_and_is_audited(
    make: Factory, wait_for_jobs: Any
) -> None:
    award, _ = accepted_award(make, wait_for_jobs)
    officer = db.session.scalar(select(User).where(User.role == "officer"))
    report = reports_of(award)[0]
    with pytest.raises(ValueError, match="reason"):
        svc.move_due_date(
            report, report.due_on + timedelta(days=30), " ", officer, report.created_at
        )
    svc.move_due_date(
        report, report.due_on + timedelta(days=30), "Flooding", officer, report.created_at
    )
    commit()
    from app.services.applications import timeline

    events = timeline("impact_report", report.id)
    assert events[-1].trigger == "move_due_date" and "Flooding" in (events[-1].comment or "")


# --- the lifecycle per role --------------------------------------------------------------------


ROLES = ["own_applicant", "other_applicant", "reviewer", "officer", "admin", "system"]


def _actor(role: str, make: Factory, grantee: User) -> Any:
    return {
        "own_applicant": lambda: grantee,
        "other_applicant": lambda: make.applicant(),
        "reviewer": lambda: make.reviewer(email=f"r-{uuid.uuid4().hex[:6]}@panel.example.org"),
        "officer": lambda: make.officer(),
        "admin": lambda: make.admin(),
        "system": lambda: SYSTEM,
    }[role]()


@pytest.mark.parametrize("role", ROLES)
def test_only_the_grantee_submits_a_complete_report(
    role: str, make: Factory, wait_for_jobs: Any
) -> None:
    award, grantee = accepted_award(make, wait_for_jobs)
    report = reports_of(award)[0]
    fill(report)
    actor = _actor(role, make, grantee)
    if role in ("own_applicant", "system"):
        fire(report, "submit", actor)
        commit()
        assert report.state == "submitted"
        assert (
            db.session.scalar(
                select(func.count(ReportSubmission.id)).where(
                    ReportSubmission.report_id == report.id
                )
            )
            == 1
        )
    else:
        with pytest.raises(TransitionRefused):
            fire(report, "submit", actor)
        db.session.rollback()
        assert db.session.get(ImpactReport, report.id).state == "scheduled"


def test_submit_is_refused_with_every_missing_field(make: Factory, wait_for_jobs: Any) -> None:
    award, grantee = accepted_award(make, wait_for_jobs)
    report = reports_of(award)[0]
    svc.save_draft(
        report, {"indicators": {"jobs": Decimal(3)}, "accomplishments": "x"}, report.version
    )
    with pytest.raises(TransitionRefused) as refused:
        fire(report, "submit", grantee)
    text = " ".join(refused.value.reasons)
    assert "Foreign direct investment" in text and "challenges" in text
    assert "Jobs created" not in text  # filled


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("trigger", ["accept", "request_changes"])
def test_only_officers_accept_or_request_changes(
    role: str, trigger: str, make: Factory, wait_for_jobs: Any
) -> None:
    award, grantee = accepted_award(make, wait_for_jobs)
    report = reports_of(award)[0]
    fill(report)
    fire(report, "submit", grantee)
    commit()
    actor = _actor(role, make, grantee)
    if role in ("officer", "system"):
        fire(report, trigger, actor, comment="Please add the MOU text.")
        commit()
        assert (
            report.state == {"accept": "accepted", "request_changes": "changes_requested"}[trigger]
        )
    else:
        with pytest.raises(TransitionRefused):
            fire(report, trigger, actor, comment="x")
        db.session.rollback()


def test_changes_need_a_comment_and_a_resubmission_is_a_new_version(
    make: Factory, wait_for_jobs: Any
) -> None:
    award, grantee = accepted_award(make, wait_for_jobs)
    officer = db.session.scalar(select(User).where(User.role == "officer"))
    report = reports_of(award)[0]
    fill(report)
    fire(report, "submit", grantee)
    commit()
    with pytest.raises(TransitionRefused, match="comment"):
        fire(report, "request_changes", officer)
    db.session.rollback()
    fire(report, "request_changes", officer, comment="Jobs look high: add evidence.")
    commit()
    fill(report, jobs=Decimal(2))
    fire(report, "submit", grantee)
    commit()
    versions = db.session.scalars(
        select(ReportSubmission)
        .where(ReportSubmission.report_id == report.id)
        .order_by(ReportSubmission.number)
    ).all()
    assert [v.number for v in versions] == [1, 2]
    assert versions[0].content["indicators"]["jobs"] == str(FULL["jobs"])
    assert versions[1].content["indicators"]["jobs"] == "2"


def test_the_award_closes_only_when_every_report_is_accepted(
    make: Factory, wait_for_jobs: Any
) -> None:
    award, grantee = accepted_award(make, wait_for_jobs)
    officer = db.session.scalar(select(User).where(User.role == "officer"))
    fire(award, "activate", officer)
    commit()
    reports = reports_of(award)
    assert len(reports) >= 2
    with pytest.raises(TransitionRefused, match="not yet accepted"):
        fire(award, "close", officer)
    db.session.rollback()
    for report in reports:
        report = db.session.get(ImpactReport, report.id)
        fill(report)
        fire(report, "submit", grantee)
        fire(report, "accept", officer, comment="Thank you.")
        commit()
        wait_for_jobs()
        db.session.expire_all()
        award = db.session.get(Award, award.id)
        expected = "closed" if report.id == reports[-1].id else "active"
        assert award.state == expected


def test_available_explains_why_a_report_cannot_be_submitted(
    make: Factory, wait_for_jobs: Any
) -> None:
    award, grantee = accepted_award(make, wait_for_jobs)
    report = reports_of(award)[0]
    (option,) = [o for o in available(report, grantee) if o.transition.trigger == "submit"]
    assert not option.allowed and any("incomplete" in r for r in option.reasons)


# --- the pages ---------------------------------------------------------------------------------


def _form(report: ImpactReport, **overrides: Any) -> dict[str, Any]:
    data = {f"ind_{code}": str(value) for code, value in FULL.items()}
    data.update(
        version=str(report.version),
        accomplishments="Done.",
        challenges="Few.",
        next_period_plans="More.",
        save="Save draft",
    )
    data.update(overrides)
    return data


def test_filing_with_bad_values_shows_the_message_by_the_field_and_saves_nothing(
    make: Factory, wait_for_jobs: Any, login: Any
) -> None:
    award, grantee = accepted_award(make, wait_for_jobs)
    report = reports_of(award)[0]
    client = login(grantee)
    cases = {
        "-5": "Enter zero or a positive number",
        "lots": "Not a valid decimal value",
        "sNaN": "Not a valid decimal value",  # was a 500: NumberRange compared a signalling NaN
        "NaN": "Not a valid decimal value",
        "-Infinity": "Not a valid decimal value",
        "12.999": "Enter at most 2 decimal places",  # stored with 2: not silently 13.00
    }
    for bad, message in cases.items():
        response = client.post(f"/applicant/reports/{report.id}", data=_form(report, ind_jobs=bad))
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert 'id="ind_jobs-error"' in html
        assert message in html.split('id="ind_jobs-error"', 1)[1][:300], bad
        assert bad in html  # the person's input is kept
        db.session.expire_all()
        assert db.session.get(ImpactReport, report.id).indicators == {}


def test_minus_zero_is_saved_as_zero_and_an_exponent_as_the_number(
    make: Factory, wait_for_jobs: Any, login: Any
) -> None:
    award, grantee = accepted_award(make, wait_for_jobs)
    report = reports_of(award)[0]
    client = login(grantee)
    data = _form(report, ind_jobs="-0", ind_events="1e3", ind_agreements="12.50")
    response = client.post(f"/applicant/reports/{report.id}", data=data)
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get(ImpactReport, report.id).indicators
    assert (saved["jobs"], saved["events"], saved["agreements"]) == ("0", "1000", "12.50")


def test_filing_saves_a_draft_then_submits(make: Factory, wait_for_jobs: Any, login: Any) -> None:
    award, grantee = accepted_award(make, wait_for_jobs)
    report = reports_of(award)[0]
    client = login(grantee)
    response = client.post(f"/applicant/reports/{report.id}", data=_form(report, challenges=""))
    assert response.status_code == 302
    db.session.expire_all()
    report = db.session.get(ImpactReport, report.id)
    assert Decimal(report.indicators["jobs"]) == 2
    response = client.post(
        f"/applicant/reports/{report.id}",
        data={**_form(report, challenges=""), "submit": "Submit the report"},
    )
    assert response.status_code == 422
    assert "describe the challenges" in response.get_data(as_text=True)
    db.session.expire_all()
    report = db.session.get(ImpactReport, report.id)
    response = client.post(
        f"/applicant/reports/{report.id}", data={**_form(report), "submit": "Submit the report"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ImpactReport, report.id).state == "submitted"


def test_another_jurisdiction_cannot_see_or_file_a_report(
    make: Factory, wait_for_jobs: Any, login: Any
) -> None:
    award, _ = accepted_award(make, wait_for_jobs)
    report = reports_of(award)[0]
    client = login(make.applicant())
    assert client.get(f"/applicant/reports/{report.id}").status_code == 404
    assert client.post(f"/applicant/reports/{report.id}", data=_form(report)).status_code == 404
    assert client.get("/officer/reports").status_code == 403
    db.session.expire_all()
    assert db.session.get(ImpactReport, report.id).indicators == {}


def test_officer_reports_page_filters_by_status_with_constant_queries(
    make: Factory, wait_for_jobs: Any, login: Any, count_queries: Any
) -> None:
    _award, _ = accepted_award(make, wait_for_jobs)
    officer = db.session.scalar(select(User).where(User.role == "officer"))
    client = login(officer)
    db.session.expire_all()  # requests share the test's session: start both counts cold
    with count_queries() as few:
        assert client.get("/officer/reports").status_code == 200
    make_award(make, wait_for_jobs)
    second, _grantee = accepted_award(make, wait_for_jobs)
    db.session.expire_all()
    with count_queries() as more:
        assert client.get("/officer/reports").status_code == 200
    assert more.count == few.count
    overdue = reports_of(second)[0]
    overdue.due_on = date(2000, 1, 1)
    commit()
    html = client.get("/officer/reports?status=overdue").get_data(as_text=True)
    assert overdue.title in html and "Overdue by" in html
