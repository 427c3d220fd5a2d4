"""Email: every message is recorded (one row per dedupe key) and logged; SMTP sends when set."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage as MimeMessage

from flask import current_app, render_template
from sqlalchemy import select

from app.clock import utcnow
from app.extensions import db
from app.models.outbox import EmailMessage

log = logging.getLogger("l2g.mail")


def email_sent(dedupe_key: str) -> bool:
    return (
        db.session.scalar(select(EmailMessage.id).where(EmailMessage.dedupe_key == dedupe_key))
        is not None
    )


def send_email(
    to: str, subject: str, template: str, dedupe_key: str, **context: object
) -> EmailMessage:
    """Send once per dedupe key, however often a job runs; return the recorded message."""
    existing = db.session.scalar(select(EmailMessage).where(EmailMessage.dedupe_key == dedupe_key))
    if existing is not None:
        return existing
    body = render_template(template, **context)
    message = EmailMessage(dedupe_key=dedupe_key, to_address=to, subject=subject, body=body)
    db.session.add(message)
    db.session.flush()
    config = current_app.config
    if config.get("MAIL_SERVER"):
        mime = MimeMessage()
        mime["From"] = config["MAIL_SENDER"]
        mime["To"] = to
        mime["Subject"] = subject
        mime.set_content(body)
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            smtp.send_message(mime)
        message.transport = "smtp"
    log.info("email to %s: %s\n%s", to, subject, body)
    message.sent_at = utcnow()
    return message
