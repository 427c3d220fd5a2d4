"""The number of SQL statements a request ran, in a response header (opt-in, for benchmarks).

With ``QUERY_COUNT_HEADER`` on (``L2G_QUERY_COUNT_HEADER=1`` in the environment) every response
carries ``X-Query-Count``: the statements sent to the database from the start of the request to
the moment its headers were made (the view, the commit's flush, the handlers after it). The body
of a streamed response is produced after that, so the statements it runs while streaming cannot
be in the header: when such a body has been sent, the whole count is logged instead
(``STREAMED_LOG``, on the ``app.query_count`` logger). Off by default: then nothing is installed
and requests pay nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, has_app_context, request, request_started
from sqlalchemy import event
from werkzeug.wrappers import Response

from app.extensions import db

HEADER = "X-Query-Count"
# method, path, statements in all, of them while the body streamed
STREAMED_LOG = "streamed %s %s ran %d SQL statements, %d of them while its body was sent"
_KEY = "l2g_query_count"
log = logging.getLogger(__name__)


class _Count:
    value = 0


def install(app: Flask) -> None:
    """Count the statements of each request of ``app`` if its ``QUERY_COUNT_HEADER`` is on."""
    if not app.config.get("QUERY_COUNT_HEADER"):
        return

    def reset(sender: Flask, **extra: Any) -> None:
        # `g` outlives a request when an app context was already pushed (tests, CLI): start at 0.
        g.l2g_query_count = _Count()

    def record(*args: Any) -> None:
        if has_app_context() and _KEY in g:
            g.l2g_query_count.value += 1

    def add_header(response: Response) -> Response:
        count: _Count = g.get(_KEY) or _Count()
        response.headers[HEADER] = str(count.value)
        if not response.is_streamed:
            g.pop(_KEY, None)
            return response
        # The body streams in this same app context (stream_with_context), which goes on counting.
        before, method, path = count.value, request.method, request.full_path.rstrip("?")

        def report() -> None:
            log.info(STREAMED_LOG, method, path, count.value, count.value - before)

        response.call_on_close(report)
        return response

    request_started.connect(reset, app, weak=False)
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
    # after_request handlers run in reverse order of registration: registered first, this one
    # runs last and counts what the others ran.
    app.after_request_funcs.setdefault(None, []).insert(0, add_header)
