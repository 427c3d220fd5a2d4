"""Request lines in the logs without the one-time tokens in their paths.

The development server (logger "werkzeug") and gunicorn's access log ("gunicorn.access") write
each request's path, and an invitation's link is /invitations/<token>: anyone reading the log
could accept it. The filter rewrites such paths as /invitations/[token removed]."""

from __future__ import annotations

import logging
import re

TOKEN_PATH = re.compile(r"(/invitations/)[^\s/?#\"']+")
REDACTED = r"\1[token removed]"
REQUEST_LOGGERS = ("werkzeug", "gunicorn.access")


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = TOKEN_PATH.sub(REDACTED, message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def install() -> None:
    """Filter the request loggers (once, however many apps a process creates)."""
    for name in REQUEST_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
