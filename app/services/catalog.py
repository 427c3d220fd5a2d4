"""The public catalog's version, its ETags and its cache of built results.

What the catalog publishes (`program_exports.public_record` over `program_data.award_facts`)
changes only through transitions: an award moving into, out of or between the public states
(accept, activate, suspend, resume, close), or an impact report of it being accepted (its
outcomes). Everything else it shows is frozen by then: an application's fields change only while
it is a draft, a round's title only while it is editable (draft, open: before any award), an
award's conditions (not published) only while it is offered, and no service edits an
organization's name, type or state after registration. So those transitions' follow-ups (the
engine's `follows`) mark the transaction, and the version changes when it commits, with the
change or not at all.

Why not a version derived from the data (counts and sums of the awards', reports' and rounds'
version columns)? It costs aggregates over those tables on every request, where reading one row
by its key is what a warm request pays here, and it would still miss the tables that have no
version column (organizations, priority areas, impact targets).

The version is one row whose token is replaced by a random one (two databases sharing one Redis
never share a key). It is written just before the commit, so the row is locked only for the
commit itself: a job activating many awards and an officer suspending one of them cannot hold
each other's locks. A request reads the version before the data; a result is therefore never
cached under a version newer than its data (at worst newer data under the version read first,
which the commit after replaces). Results are cached by (version, what was asked): in Redis when
REDIS_URL is set (shared by every process), else in a bounded per-process dict (Flask-Caching's
SimpleCache); an old version's entries are never read again and expire.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask_caching.backends import SimpleCache
from redis.exceptions import RedisError
from sqlalchemy import event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, scoped_session

from app.clock import utcnow
from app.extensions import cache, db, local_cache
from app.models.catalog import CATALOG_VERSION_ID, CatalogVersion
from app.services.program_data import PUBLIC_AWARD_STATES
from workflows import LIFECYCLES
from workflows.engine import FireContext, follows

log = logging.getLogger(__name__)
T = TypeVar("T")


def current_version() -> str:
    """The catalog's version token (one query). The migration creates its row; where it is
    missing (a database made with create_all, or emptied) the first reader creates it."""
    token = db.session.scalar(
        select(CatalogVersion.token).where(CatalogVersion.id == CATALOG_VERSION_ID)
    )
    return token if token is not None else bump(db.session)


def bump(session: Session | scoped_session[Session]) -> str:
    """Give the catalog a new version in `session`'s transaction; returns its token."""
    token = secrets.token_hex(16)
    values = {"id": CATALOG_VERSION_ID, "token": token, "changed_at": utcnow()}
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(CatalogVersion).values(**values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[CatalogVersion.id],
            set_={"token": statement.excluded.token, "changed_at": statement.excluded.changed_at},
        )
    )
    return token


_CHANGED = "l2g_catalog_changed"


def catalog_changed(entity: Any, ctx: FireContext) -> None:
    """Follow-up of every transition that changes what the catalog publishes: the catalog gets
    a new version when this transaction commits."""
    session = db.session()
    session.info[_CHANGED] = session.get_transaction()


@event.listens_for(Session, "before_commit")
def _new_version_on_commit(session: Session) -> None:
    # The mark names the transaction it was made in: one rolled back leaves a mark that no
    # later transaction matches. A savepoint's release also passes here: wait for the outermost.
    if session.get_nested_transaction() is not None:
        return
    marked = session.info.get(_CHANGED)
    if marked is not None and marked is session.get_transaction():
        del session.info[_CHANGED]
        bump(session)


def _publishing_triggers(lifecycle: str, public: tuple[str, ...]) -> list[str]:
    """The triggers of `lifecycle` that move a row into, out of or between `public` states."""
    return [
        t.trigger
        for t in LIFECYCLES[lifecycle].transitions
        if t.dest in public or any(source in public for source in t.sources)
    ]


for _trigger in _publishing_triggers("award", PUBLIC_AWARD_STATES):
    follows("award", _trigger)(catalog_changed)
for _trigger in _publishing_triggers("impact_report", ("accepted",)):
    follows("impact_report", _trigger)(catalog_changed)


def etag(version: str, *request_key: Any) -> str:
    """The entity tag of one answer (a page, a filter, a format) of one catalog version."""
    text = json.dumps([version, *request_key], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cached(version: str, request_key: tuple[Any, ...], build: Callable[[], T]) -> T:
    """What `build` returns for this version and request, built once per version.

    With Redis, an entry read from it is kept in this process too (a small bounded dict): the
    key holds the version, so a copy can never be out of date, only evicted. A Redis that cannot
    be reached costs the cache, not the answer: it is built and logged.
    """
    key = etag(version, *request_key)
    shared = not isinstance(cache.cache, SimpleCache)
    found = local_cache.get(key) if shared else None
    if found is not None:
        return found  # type: ignore[no-any-return]
    try:
        found = cache.get(key)
    except RedisError as error:
        log.warning("catalog cache unavailable: %s", error)
        return build()
    if found is None:
        found = build()
        try:
            cache.set(key, found)
        except RedisError as error:
            log.warning("catalog cache unavailable: %s", error)
    if shared:
        local_cache.set(key, found)
    return found  # type: ignore[no-any-return]
