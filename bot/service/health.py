"""What ``/readyz`` checks: the database answers and has this code's schema, Redis answers.

A replica that is not ready gets no traffic from the load balancer but is not restarted
(that is ``/healthz``'s job, which only says the process is alive). ``/readyz`` needs no
credentials, so a failing check says only which service is unreachable: the driver's error
(host names, database and user names, versions) goes to the log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import redis.asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge.database import require_current_schema
from knowledge.errors import SchemaOutdatedError
from knowledge.sources.manager import SourceManager

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 2.0
OK = "ok"
UNREACHABLE = "unreachable (see the log)"


@dataclass(frozen=True)
class Readiness:
    """One line per check: ``ok``, or what is wrong."""

    checks: dict[str, str]

    @property
    def ready(self) -> bool:
        return all(result == OK for result in self.checks.values())


async def check_readiness(engine: AsyncEngine, client: redis.asyncio.Redis) -> Readiness:
    database, schema, cache = await asyncio.gather(
        _bounded("database", _database(engine)),
        _bounded("schema", _schema(engine)),
        _bounded("redis", _redis(client)),
    )
    return Readiness({"database": database, "schema": schema, "redis": cache})


async def source_details(manager: SourceManager) -> dict[str, dict[str, Any]]:
    """How each source's last sync went, for ``/readyz``'s details: they never make a replica
    unready (a wiki being down is no reason to stop answering). Like the checks, they carry no
    error text (it can name internal hosts): ``sources list`` and ``/kb sources`` show it."""
    try:
        statuses = await asyncio.wait_for(manager.statuses(), CHECK_TIMEOUT_SECONDS)
    except Exception as e:
        log.warning("cannot read the sources' status: %s", type(e).__name__)
        return {}
    return {
        s.config.name: {
            "kind": s.config.kind,
            "state": "never synced" if s.last_sync_at is None else "error" if s.last_error else OK,
            "last_sync": s.last_sync_at.isoformat() if s.last_sync_at else None,
            "last_success": s.last_success_at.isoformat() if s.last_success_at else None,
            "pages": s.pages,
            "added": s.added,
            "updated": s.updated,
            "removed": s.removed,
            "failed": s.failed,
        }
        for s in statuses
    }


async def _bounded(name: str, check: Awaitable[str]) -> str:
    try:
        return await asyncio.wait_for(check, CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT_SECONDS:g} s"
    except Exception as e:
        detail = (str(e).strip().splitlines() or [""])[0]
        log.warning("readiness check %s failed: %s: %s", name, type(e).__name__, detail)
        return UNREACHABLE


async def _database(engine: AsyncEngine) -> str:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    return OK


async def _schema(engine: AsyncEngine) -> str:
    try:
        await require_current_schema(engine)
    except SchemaOutdatedError as e:
        return str(e)
    return OK


async def _redis(client: redis.asyncio.Redis) -> str:
    await client.ping()
    return OK
