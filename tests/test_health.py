"""``/readyz`` and ``/metrics`` on the real server, over a real Postgres and Redis."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import psycopg
import psycopg.sql
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.types import Question, ReplyTo
from bot.platforms.teams.app import build_teams_endpoint
from bot.service.components import Core
from bot.service.server import build_web_app, run_jobs
from bot.service.settings import Settings
from bot.service.wiring import open_core
from knowledge.chunking import chunk_document
from knowledge.database import head_revision
from tests.documents import policy
from tests.environment import core_environment
from tests.fake_openai import fake_openai, leave_answers
from tests.loopback import serve


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[tuple[str, Core]]:
    async with open_core(settings) as core, serve(build_web_app(core=core)) as url:
        yield url, core


async def _get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers["Content-Type"], await response.text()


async def _readyz(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/readyz") as response:
        return response.status, await response.json()


def _settings(database_url: str, redis_url: str, **extra: str) -> Settings:
    return Settings.from_env(
        core_environment(database_url=database_url, redis_url=redis_url, **extra)
    )


async def test_a_replica_with_its_services_up_is_ready(
    database_url: str, redis_url: str, engine: AsyncEngine
) -> None:
    async with served(_settings(database_url, redis_url)) as (url, _core):
        status, body = await _readyz(url)
    assert status == 200
    assert body == {
        "status": "ready",
        "checks": {"database": "ok", "schema": "ok", "redis": "ok", "replica": "ok"},
        "sources": {},
    }


async def test_not_ready_when_redis_is_down_and_the_reason_is_given(
    database_url: str, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(database_url, "redis://127.0.0.1:9/0")
    with caplog.at_level(logging.WARNING, logger="bot.service.health"):
        async with served(settings) as (url, _core):
            status, body = await _readyz(url)
    assert status == 503
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"] == "unreachable (see the log)"
    assert any("127.0.0.1" in r.getMessage() for r in caplog.records)  # the detail is logged


async def test_a_dead_database_is_named_but_its_error_is_not_shown(
    postgres_server_url: str, database_url: str, redis_url: str, engine: AsyncEngine
) -> None:
    async with served(_settings(database_url, redis_url)) as (url, _core):
        await engine.dispose()
        name = make_url(database_url).database or ""
        server = make_url(postgres_server_url).set(database="postgres")
        async with await psycopg.AsyncConnection.connect(
            server.render_as_string(hide_password=False), autocommit=True
        ) as admin:
            await admin.execute(
                psycopg.sql.SQL("DROP DATABASE {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(name)
                )
            )
        status, body = await _readyz(url)
    assert status == 503
    assert body["checks"]["database"] == "unreachable (see the log)"
    assert body["checks"]["schema"] == "unreachable (see the log)"
    shown = json.dumps(body)
    for leak in (name, "FATAL", "does not exist", "psycopg", "OperationalError", "127.0.0.1"):
        assert leak not in shown


async def test_ready_only_with_every_migration_this_version_needs(
    database_url: str, redis_url: str, engine: AsyncEngine
) -> None:
    async with served(_settings(database_url, redis_url)) as (url, _core):
        await _set_revision(engine, "0003")
        status, body = await _readyz(url)
        assert status == 503
        assert body["checks"]["schema"].endswith(
            f"needs {head_revision()}: run `supportbot migrate`"
        )
        # A revision this code does not know comes from a newer release: still ready.
        await _set_revision(engine, "9999_from_the_future")
        status, _ = await _readyz(url)
        assert status == 200
        await _set_revision(engine, head_revision())


async def _set_revision(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE alembic_version SET version_num = :r"), {"r": revision}
        )


async def test_a_stopping_replica_is_not_ready_and_refuses_new_work(
    database_url: str, redis_url: str, engine: AsyncEngine
) -> None:
    settings = _settings(database_url, redis_url, TEAMS_ALLOW_UNAUTHENTICATED="1")
    async with open_core(settings) as core:
        endpoint = build_teams_endpoint(settings, core)
        async with serve(build_web_app(teams=endpoint, core=core)) as url:
            core.work.stop_taking_work()
            status, body = await _readyz(url)
            async with (
                aiohttp.ClientSession() as session,
                session.post(f"{url}/api/messages", json={"type": "message"}) as response,
            ):
                refused = response.status
    assert status == 503 and body["checks"]["replica"] == "stopping"
    assert refused == 503


def _samples(exposition: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


async def test_metrics_count_questions_cache_model_tokens_and_errors(
    database_url: str, redis_url: str, engine: AsyncEngine
) -> None:
    async with fake_openai() as llm:
        llm.default = leave_answers
        llm.script = [500, 500, 500]  # the first question: the model fails, retries included
        settings = _settings(
            database_url,
            redis_url,
            OPENAI_BASE_URL=llm.base_url,
            OPENAI_API_KEY="sk-test",
            SUPPORTBOT_LLM_MAX_RETRIES="2",
        )
        async with served(settings) as (url, core):
            document = policy(url="https://hb.test/leave")
            await core.kb.store.upsert(document, chunk_document(document))
            question = Question("How many days of annual leave?", platform="slack")
            quoted = await core.answers.answer(question)  # quoted from the documents instead
            first = await core.answers.answer(question)
            again = await core.answers.answer(question)
            await core.answers.answer(Question("", platform="teams"))
            status, content_type, exposition = await _get(f"{url}/metrics")
    assert (quoted.degraded, first.degraded, first.cached, again.cached) == (
        True, False, False, True,
    )  # fmt: skip
    assert status == 200 and content_type.startswith("text/plain")
    samples = _samples(exposition)
    slack = ("platform", "slack")
    assert samples[("supportbot_questions_total", (("outcome", "answered"), slack))] == 3
    assert samples[("supportbot_questions_total", (("outcome", "unavailable"), slack))] == 0
    teams_invalid = (("outcome", "invalid"), ("platform", "teams"))
    assert samples[("supportbot_questions_total", teams_invalid)] == 1
    assert samples[("supportbot_answer_seconds_count", (slack,))] == 3
    assert samples[("supportbot_answer_cache_lookups_total", (("result", "hit"),))] == 1
    assert samples[("supportbot_answer_cache_lookups_total", (("result", "miss"),))] == 2
    assert samples[("supportbot_llm_errors_total", ())] == 1
    assert samples[("supportbot_llm_tokens_total", (("kind", "prompt"),))] == 100
    assert samples[("supportbot_llm_tokens_total", (("kind", "completion"),))] == 20
    assert samples[("supportbot_answers_in_flight", ())] == 0


async def test_metrics_count_ingestion_jobs(
    database_url: str, redis_url: str, engine: AsyncEngine
) -> None:
    async def page(_request: web.Request) -> web.Response:
        return web.Response(text="# Parking\n\nPark in bay 4.", content_type="text/markdown")

    site = web.Application()
    site.router.add_get("/parking", page)
    succeeded = ("supportbot_ingestion_jobs_total", (("event", "succeeded"),))
    settings = _settings(database_url, redis_url)
    async with served(settings) as (url, core), serve(site) as base:
        await core.jobs.submit(f"{base}/parking", (), ReplyTo("slack", {}))
        async with run_jobs(core):
            for _ in range(200):
                samples = _samples((await _get(f"{url}/metrics"))[2])
                if samples.get(succeeded):
                    break
                await asyncio.sleep(0.05)
        titles = [d.title for d in await core.kb.store.list_documents()]
    assert samples[("supportbot_ingestion_jobs_total", (("event", "queued"),))] == 1
    assert samples[succeeded] == 1
    assert samples[("supportbot_ingestion_seconds_count", ())] == 1
    assert titles == ["Parking"]
