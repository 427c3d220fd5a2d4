"""The grantee's side of an award: its awards, accepting or refusing, reminders before the
acceptance deadline, and activation on the start date.

The rules themselves are the award lifecycle's guards (workflows/award.py); this module fires the
transitions, checks the version the person saw, and says which form field each refusal is about.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.formatting import day
from app.models.application import Application
from app.models.award import Award, AwardLetter
from app.models.impact_report import ImpactReport
from app.models.round import Round
from app.models.user import User
from app.services.mail import email_sent, send_email
from app.services.rounds import StaleEdit
from workflows import SYSTEM, FireContext, TransitionRefused, fire
from workflows.award import LIFECYCLE
from workflows.engine import roles_refusal

# Reminders go this many days before the acceptance deadline, most distant first.
REMINDER_DAYS = (14, 3)
GENERAL = ""  # the key of refusal reasons that concern the whole form, not one field
SIGNATURE_FIELDS = ("name", "title", "consent")
_COMPLETE_SIGNATURE = {"name": "x", "title": "x", "consent": True}


# --- What the grantee sees ----------------------------------------------------------------------


@dataclass(frozen=True)
class AwardRow:
    award: Award
    application: Application
    round: Round


def organization_awards(organization_id: int) -> list[AwardRow]:
    """One query: the organization's awards with their application and round, newest first."""
    rows = db.session.execute(
        select(Award, Application, Round)
        .join(Application, Award.application_id == Application.id)
        .join(Round, Award.round_id == Round.id)
        .where(Award.organization_id == organization_id)
        .order_by(Award.offered_at.desc(), Award.id.desc())
    )
    return [AwardRow(award, application, rnd) for award, application, rnd in rows]


def award_of_organization(award_id: int, organization_id: int | None) -> Award | None:
    """The award if it belongs to this organization; None otherwise (as if it did not exist)."""
    award = db.session.get(Award, award_id)
    if award is None or organization_id is None or award.organization_id != organization_id:
        return None
    return award


def letter_version(award: Award, version_no: int | None = None) -> AwardLetter | None:
    """The award's letter: the latest one, or the given version."""
    if version_no is None:
        return award.latest_letter
    return next((x for x in award.letters if x.version_no == version_no), None)


def impact_reports(award: Award) -> list[ImpactReport]:
    return list(
        db.session.scalars(
            select(ImpactReport)
            .where(ImpactReport.award_id == award.id)
            .order_by(ImpactReport.due_on, ImpactReport.id)
        )
    )


# --- Accepting and refusing ---------------------------------------------------------------------


def signature(name: str | None, title: str | None, consent: bool | None) -> dict[str, Any]:
    return {"name": (name or "").strip(), "title": (title or "").strip(), "consent": bool(consent)}


def refusal_by_field(
    award: Award,
    trigger: str,
    actor: Any,
    now: datetime,
    data: Mapping[str, Any] | None = None,
    comment: str | None = None,
) -> dict[str, list[str]]:
    """Every reason `trigger` is refused, filed under the form field it is about (GENERAL for the
    whole form). The words are the lifecycle's own: each guard is asked, and the signature guard
    is asked about one field at a time so that each missing part lands next to its field."""
    ctx = FireContext(
        actor=actor, comment=(comment or "").strip() or None, data=data or {}, now=now
    )
    t = LIFECYCLE.transition(trigger)
    out: dict[str, list[str]] = {}
    if award.state not in t.sources:
        out.setdefault(GENERAL, []).append(f"the award is {award.state_title.lower()}")
        return out
    role_reason = roles_refusal(LIFECYCLE, t, award, actor)
    if role_reason:
        out.setdefault(GENERAL, []).append(role_reason)
    for name in t.guards:
        guard = LIFECYCLE.guards[name]
        reason = guard(award, ctx)
        if not reason:
            continue
        if name == "signature_given":
            parts = {
                key: guard(
                    award, replace(ctx, data={**_COMPLETE_SIGNATURE, key: ctx.data.get(key)})
                )
                for key in SIGNATURE_FIELDS
            }
            for key, part in parts.items():
                if part:
                    out.setdefault(key, []).append(part)
            if not any(parts.values()):  # a reason no single field explains: shown for the form
                out.setdefault(GENERAL, []).append(reason)
        elif name == "comment_given":
            out.setdefault("reason", []).append(reason)
        else:
            out.setdefault(GENERAL, []).append(reason)
    return out


def answer_blocked(award: Award, actor: Any, now: datetime) -> list[str]:
    """What stops this person from answering the offer at all, whatever they type (the deadline,
    or not being of the award's organization): the page shows these instead of the forms."""
    complete = refusal_by_field(award, "accept", actor, now, data=_COMPLETE_SIGNATURE)
    return complete.get(GENERAL, [])


def _lock_and_check(award: Award, expected_version: int) -> None:
    """Lock the award (on PostgreSQL) with its latest values, then compare the version the
    person saw."""
    if db.session.get_bind().dialect.name == "postgresql":
        # The rows must be fetched: populate_existing refreshes `award` only as rows are read.
        db.session.execute(
            select(Award)
            .where(Award.id == award.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one()
    if award.version != expected_version:
        raise StaleEdit()


def accept_award(
    award: Award, user: User, data: Mapping[str, Any], expected_version: int, now: datetime
) -> None:
    """Accept as the authorized official. The guards want a name, a title and consent before the
    deadline; services.awards.record_acceptance records them, the time and the account, and
    creates the impact reports. Raises StaleEdit or TransitionRefused; the caller commits."""
    _lock_and_check(award, expected_version)
    fire(award, "accept", user, data=dict(data), now=now)


def refuse_award(
    award: Award, user: User, reason: str | None, expected_version: int, now: datetime
) -> None:
    """Refuse with a reason (recorded as the audit comment). Raises StaleEdit or
    TransitionRefused; the caller commits."""
    _lock_and_check(award, expected_version)
    fire(award, "refuse", user, comment=reason, now=now)


# --- The clock's part: reminders and activation -------------------------------------------------


def reminder_threshold(award: Award, now: datetime) -> int | None:
    """The reminder due now: the nearest threshold (in days before the deadline) already reached.

    None when the deadline has passed or is further away than the first threshold, and for a
    threshold reached before the award was offered (the offer itself said when to answer)."""
    if award.state != "offered" or now >= award.acceptance_deadline:
        return None
    reached = [
        days
        for days in REMINDER_DAYS
        if award.acceptance_deadline - timedelta(days=days) <= now
        and award.offered_at < award.acceptance_deadline - timedelta(days=days)
    ]
    return min(reached) if reached else None


def reminder_key(award: Award, days: int, user: User) -> str:
    # The deadline is part of the key: when an officer moves it, the reminders go again.
    return f"award-reminder:{award.id}:{days}d:{award.acceptance_deadline:%Y%m%dT%H%M}:{user.id}"


def send_acceptance_reminders(now: datetime) -> int:
    """Email every user of the organization about each offered award 14 and 3 days before its
    acceptance deadline; each (award, threshold, user) once however often this runs. Returns the
    number of emails sent by this run."""
    latest = now + timedelta(days=max(REMINDER_DAYS))
    awards = db.session.scalars(
        select(Award)
        .where(
            Award.state == "offered",
            Award.acceptance_deadline > now,
            Award.acceptance_deadline <= latest,
        )
        .options(
            joinedload(Award.round), joinedload(Award.application), joinedload(Award.organization)
        )
        .order_by(Award.acceptance_deadline, Award.id)
    ).all()
    due = [(a, days) for a in awards if (days := reminder_threshold(a, now)) is not None]
    if not due:
        return 0
    org_ids = {a.organization_id for a, _ in due}
    users: dict[int, list[User]] = {}
    for user in db.session.scalars(
        select(User)
        .where(User.organization_id.in_(org_ids), User.is_active_account.is_(True))
        .order_by(User.id)
    ):
        assert user.organization_id is not None
        users.setdefault(user.organization_id, []).append(user)
    sent = 0
    for award, days in due:
        for user in users.get(award.organization_id, []):
            key = reminder_key(award, days, user)
            if email_sent(key):
                continue
            send_email(
                user.email,
                f"Award {award.number}: please accept or refuse it by "
                f"{day(award.round.local(award.acceptance_deadline).date())}",
                "email/award_reminder.txt",
                dedupe_key=key,
                award=award,
                user=user,
                days=days,
                now=now,
            )
            sent += 1
    return sent


def awards_due_for_activation(now: datetime) -> list[Award]:
    """Accepted awards whose period of performance has started in their round's time zone."""
    candidates = db.session.scalars(
        select(Award)
        .where(Award.state == "accepted", Award.start_date <= (now + timedelta(days=1)).date())
        .options(joinedload(Award.round))
        .order_by(Award.start_date, Award.id)
    ).all()
    return [a for a in candidates if a.round.local(now).date() >= a.start_date]


def activate_due_awards(now: datetime) -> list[Award]:
    """Fire `activate` as the system for each accepted award whose start date has come. An award
    the lifecycle still refuses (or another run activated first) is left for the next run."""
    activated = []
    for award in awards_due_for_activation(now):
        try:  # fire checks before it changes anything: a refusal leaves the award as it was
            fire(award, "activate", SYSTEM, comment="the period of performance began", now=now)
        except TransitionRefused:
            continue
        activated.append(award)
    return activated
