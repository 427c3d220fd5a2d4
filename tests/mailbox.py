"""The emails as sent (not as recorded): without SMTP, send_email writes each to MAIL_DIR."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from flask import Flask


def sent_to(app: Flask, address: str) -> list[EmailMessage]:
    """The messages sent to `address`, oldest first."""
    folder = Path(app.config["MAIL_DIR"])
    messages = [
        message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted(folder.glob("*.eml"))
    ]
    return [m for m in messages if m["To"] == address]  # type: ignore[misc]


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return part.get_content()
