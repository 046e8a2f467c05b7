"""Connecting to Postgres, running migrations and checking the schema version.

One code path for every Postgres: the embedded one, a local server or a managed service all
arrive here as a URL. Library exceptions are converted to ``knowledge.errors`` at this edge.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from typing import Any

import psycopg
import psycopg.errors
import psycopg.sql
import sqlalchemy.exc
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from pgvector.psycopg import register_vector_async
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from knowledge.errors import DatabaseUnavailableError, SchemaOutdatedError
from migrations import SCRIPT_LOCATION

log = logging.getLogger(__name__)

MIGRATE_HINT = "run `supportbot migrate`"

# What a lost or refused database connection looks like, through SQLAlchemy or raw psycopg.
CONNECTION_ERRORS = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    psycopg.OperationalError,
    OSError,
)


def create_engine(url: str, *, pool_size: int = 5) -> AsyncEngine:
    """An async SQLAlchemy engine on psycopg 3 for ``url`` (any ``postgresql://`` URL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() not in {"postgresql", "postgres"}:
        raise DatabaseUnavailableError(f"DATABASE_URL must be a postgresql:// URL, got {url!r}")
    parsed = parsed.set(drivername="postgresql+psycopg")
    engine = create_async_engine(parsed, pool_size=pool_size, pool_pre_ping=True)
    event.listen(engine.sync_engine, "connect", _register_vector_type)
    return engine


def _register_vector_type(dbapi_connection: Any, _record: Any) -> None:
    # Before the first migration the type does not exist yet; nothing to register then.
    with contextlib.suppress(psycopg.ProgrammingError):
        dbapi_connection.run_async(register_vector_async)


def describe(engine: AsyncEngine) -> str:
    """The engine's URL without its password, for messages."""
    return engine.url.render_as_string(hide_password=True)


def unavailable(engine: AsyncEngine, error: Exception) -> DatabaseUnavailableError:
    """A one-line error for a database that cannot be reached."""
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    return DatabaseUnavailableError(f"cannot use the database at {describe(engine)}: {reason}")


def _alembic_config(**attributes: Any) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes.update(attributes)
    return config


@functools.cache
def _script_directory() -> ScriptDirectory:
    # The migrations ship with the code; read them once, not on every readiness probe.
    return ScriptDirectory.from_config(_alembic_config())


def head_revision() -> str:
    """The newest migration this code knows."""
    head = _script_directory().get_current_head()
    assert head is not None, "the migrations folder has no revisions"
    return head


async def current_revision(engine: AsyncEngine) -> str | None:
    """The migration the database is at, or None for an empty database."""

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    try:
        async with engine.connect() as connection:
            return await connection.run_sync(read)
    except CONNECTION_ERRORS as e:
        raise unavailable(engine, e) from e


async def migrate(engine: AsyncEngine, *, embedding_dimension: int) -> tuple[str | None, str]:
    """Bring the schema to the newest migration; returns (revision before, revision after).

    ``embedding_dimension`` sizes the vector column when the schema is first created.
    """
    before = await current_revision(engine)

    def upgrade(connection: Connection) -> None:
        config = _alembic_config(connection=connection, embedding_dimension=embedding_dimension)
        command.upgrade(config, "head")

    try:
        async with engine.begin() as connection:
            await connection.run_sync(upgrade)
    except CONNECTION_ERRORS as e:
        raise unavailable(engine, e) from e
    # Pooled connections opened before the vector type existed cannot send vectors; new ones
    # register it when they connect.
    await engine.dispose()
    return before, head_revision()


def _is_known_revision(revision: str) -> bool:
    try:
        _script_directory().get_revision(revision)
    except CommandError:
        return False
    return True


async def require_current_schema(engine: AsyncEngine) -> None:
    """Refuse to work on a database whose schema is older than this code's newest migration.

    A revision this code does not know was written by a newer release during a rolling
    update. Migrations add before they remove (expand, then contract), so this release still
    works on it.
    """
    current = await current_revision(engine)
    head = head_revision()
    if current is None:
        raise SchemaOutdatedError(f"the database has no knowledge base schema yet: {MIGRATE_HINT}")
    if current != head and not _is_known_revision(current):
        log.warning("the database schema %s is newer than this version's %s", current, head)
    elif current != head:
        raise SchemaOutdatedError(
            f"the database schema is at {current}, this version needs {head}: {MIGRATE_HINT}"
        )


async def ensure_database(server_url: str, name: str) -> str:
    """The URL of database ``name`` on the server at ``server_url``, created if missing."""
    url = make_url(server_url)
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as connection:
            exists = await (
                await connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            ).fetchone()
            if not exists:
                await connection.execute(
                    psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name))
                )
    except psycopg.errors.DuplicateDatabase:
        pass  # created concurrently by another process: fine
    except psycopg.OperationalError as e:
        raise DatabaseUnavailableError(
            f"cannot use the database server at {url.render_as_string(hide_password=True)}: "
            f"{str(e).strip().splitlines()[0]}"
        ) from e
    return url.set(database=name).render_as_string(hide_password=False)


class GuardedConnection:
    """A connection (or transaction) whose connection failures become one-line errors."""

    def __init__(self, engine: AsyncEngine, *, begin: bool) -> None:
        self._engine = engine
        self._begin = begin
        self._context: Any = None

    async def __aenter__(self) -> AsyncConnection:
        self._context = self._engine.begin() if self._begin else self._engine.connect()
        try:
            connection: AsyncConnection = await self._context.__aenter__()
        except CONNECTION_ERRORS as e:
            raise unavailable(self._engine, e) from e
        return connection

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            await self._context.__aexit__(exc_type, exc, tb)
        except CONNECTION_ERRORS as e:
            if exc is not None and not isinstance(exc, CONNECTION_ERRORS):
                raise
            raise unavailable(self._engine, e) from e
        if isinstance(exc, CONNECTION_ERRORS):
            raise unavailable(self._engine, exc) from exc
