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

import redis.asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge.database import require_current_schema
from knowledge.errors import SchemaOutdatedError

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
