"""`flask --app app …` commands: users, workflows, jobs, rounds and demo data."""

from __future__ import annotations

import sys

import click
from flask import Flask

from app.clock import utcnow
from app.domain import ROLES
from app.extensions import db
from app.jobs import commit


def register_commands(app: Flask) -> None:
    app.cli.add_command(user_cli)
    app.cli.add_command(workflows_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(rounds_cli)
    app.cli.add_command(reviews_cli)
    app.cli.add_command(awards_cli)
    app.cli.add_command(reports_cli)
    app.cli.add_command(demo_cli)


@click.group("user", help="Manage accounts.")
def user_cli() -> None:
    pass


@user_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(list(ROLES)), required=True)
@click.option("--name", default="")
@click.option("--organization-id", type=int, default=None, help="For applicants.")
def user_create(email: str, role: str, name: str, organization_id: int | None) -> None:
    """Create an account; the password is read from a prompt, or from standard input."""
    from app.models.user import Organization
    from app.services.accounts import AccountError, create_user

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    organization = db.session.get(Organization, organization_id) if organization_id else None
    if organization_id and organization is None:
        raise click.ClickException(f"No organization with id {organization_id}.")
    try:
        user = create_user(email, password, role, name=name, organization=organization)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    commit()
    click.echo(f"Created {user.role} {user.email} (id {user.id}).")


@click.group("workflows", help="Inspect the lifecycles.")
def workflows_cli() -> None:
    pass


@workflows_cli.command("show")
@click.argument("name")
def workflows_show(name: str) -> None:
    """Print a lifecycle as a Mermaid state diagram."""
    from workflows import LIFECYCLES

    if name not in LIFECYCLES:
        raise click.ClickException(f"Unknown lifecycle {name!r}; known: {', '.join(LIFECYCLES)}.")
    click.echo(LIFECYCLES[name].mermaid())


@click.group("jobs", help="The outbox of background jobs.")
def jobs_cli() -> None:
    pass


@jobs_cli.command("dispatch")
def jobs_dispatch() -> None:
    """Hand every pending job to the runner (after a Redis outage, say)."""
    from app.jobs import dispatch

    click.echo(f"Dispatched {dispatch()} job(s).")


@jobs_cli.command("retry")
@click.argument("job_id", type=int)
def jobs_retry(job_id: int) -> None:
    """Run a failed job again."""
    from app.jobs import retry

    try:
        retry(job_id)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    commit()
    click.echo(f"Job {job_id} sent again.")


@click.group("rounds", help="Round housekeeping for cron or the rq scheduler.")
def rounds_cli() -> None:
    pass


@rounds_cli.command("close-due")
def rounds_close_due() -> None:
    """Close every open round whose deadline has passed (fired as the system actor)."""
    from app.services.rounds import close_due_rounds

    closed = close_due_rounds(utcnow())
    commit()
    click.echo(f"Closed {len(closed)} round(s).")


@rounds_cli.command("rescore")
@click.option("--round", "round_id", type=int, help="Only this round (default: every round).")
def rounds_rescore(round_id: int | None) -> None:
    """Store every application's scores from its reviews and rank the round again: after data
    was loaded without the engine, or after upgrading to stored scores."""
    from app.extensions import db
    from app.models.round import Round
    from app.services.scores import rebuild_all, rebuild_round

    if round_id is None:
        done = rebuild_all()
    else:
        rnd = db.session.get(Round, round_id)
        if rnd is None:
            raise click.BadParameter(f"no round {round_id}", param_hint="--round")
        done = {rnd.id: rebuild_round(rnd)}
    commit()
    for rid, version in done.items():
        click.echo(f"Round {rid}: ranking version {version}.")


@click.group("reviews", help="Review housekeeping for cron or the rq scheduler.")
def reviews_cli() -> None:
    pass


@reviews_cli.command("remind")
def reviews_remind() -> None:
    """Email reviewers whose reviews are due within a few days or today; each reminder once."""
    from app.services.reviews import send_reminders

    sent = send_reminders(utcnow())
    commit()
    click.echo(f"Sent {sent} reminder(s).")


@click.group("awards", help="Award housekeeping for cron or the rq scheduler.")
def awards_cli() -> None:
    pass


@awards_cli.command("remind")
def awards_remind() -> None:
    """Email grantees about offered awards 14 and 3 days before the acceptance deadline; each
    reminder once, however often this runs."""
    from app.services.acceptance import send_acceptance_reminders

    sent = send_acceptance_reminders(utcnow())
    commit()
    click.echo(f"Sent {sent} acceptance reminder(s).")


@awards_cli.command("activate-due")
def awards_activate_due() -> None:
    """Activate accepted awards whose period of performance has started (as the system actor)."""
    from app.services.acceptance import activate_due_awards

    activated = activate_due_awards(utcnow())
    commit()
    click.echo(f"Activated {len(activated)} award(s).")


@click.group("reports", help="Impact report housekeeping for cron.")
def reports_cli() -> None:
    pass


@reports_cli.command("remind")
def reports_remind() -> None:
    """Remind grantees (and officers when overdue) of impact reports: 14 days before the due
    date, 1 day after it, then weekly while overdue; each reminder is sent once."""
    from app.services.impact_reports import send_reminders

    sent = send_reminders(utcnow())
    commit()
    click.echo(f"Sent {sent} report reminder(s).")


@click.group("demo", help="Demonstration data.")
def demo_cli() -> None:
    pass


@demo_cli.command("seed")
def demo_seed() -> None:
    """Create the demo program (once) and print how to sign in."""
    from app.demo import DEMO_PASSWORD, seed

    summary = seed(utcnow())
    commit()
    click.echo(summary.describe(DEMO_PASSWORD))
