"""Email: every message is recorded (one row per dedupe key) and logged; SMTP sends when set.

A message carrying a secret (an invitation's one-time link) is sent whole, but recorded with the
secret replaced by TOKEN_REMOVED, and logged by id, recipient and subject only: the emails table
and the log are read by more people, and kept longer, than the recipient's mailbox. Without SMTP
the message sent is written to MAIL_DIR as a .eml file (the development stand-in for a mailbox).
"""

from __future__ import annotations

import logging
import smtplib
import time
from email.message import EmailMessage as MimeMessage
from pathlib import Path

from flask import current_app, render_template
from sqlalchemy import select

from app.clock import utcnow
from app.extensions import db
from app.models.outbox import EmailMessage

log = logging.getLogger("l2g.mail")

TOKEN_REMOVED = "[token removed]"


def email_sent(dedupe_key: str) -> bool:
    return (
        db.session.scalar(select(EmailMessage.id).where(EmailMessage.dedupe_key == dedupe_key))
        is not None
    )


def send_email(
    to: str,
    subject: str,
    template: str,
    dedupe_key: str,
    secret: str | None = None,
    **context: object,
) -> EmailMessage:
    """Send once per dedupe key, however often a job runs; return the recorded message, whose
    body has `secret` (a token in the message) replaced by TOKEN_REMOVED."""
    existing = db.session.scalar(select(EmailMessage).where(EmailMessage.dedupe_key == dedupe_key))
    if existing is not None:
        return existing
    body = render_template(template, **context)
    kept = body.replace(secret, TOKEN_REMOVED) if secret else body
    message = EmailMessage(dedupe_key=dedupe_key, to_address=to, subject=subject, body=kept)
    db.session.add(message)
    db.session.flush()
    config = current_app.config
    mime = MimeMessage()
    mime["From"] = config["MAIL_SENDER"]
    mime["To"] = to
    mime["Subject"] = subject
    mime.set_content(body)
    if config.get("MAIL_SERVER"):
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            smtp.send_message(mime)
        message.transport = "smtp"
    elif config.get("MAIL_DIR"):
        folder = Path(config["MAIL_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        # Named in sending order: a reader (a developer, a test) takes the newest to an address.
        (folder / f"{time.time_ns():020d}-{message.id}.eml").write_bytes(mime.as_bytes())
    log.info("email #%d to %s: %s", message.id, to, subject)
    message.sent_at = utcnow()
    return message
