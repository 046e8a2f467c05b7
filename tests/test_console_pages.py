"""The admin console's second slice: what the answer log records for it (platform and cited
documents, never the question), documents with their citations, sources, usage by platform,
the overview's self-served charts, the gap queue's pages and groups, sessions re-checked
against the admin lists, and a clear 503 when Redis is down. Real server, Postgres and Redis;
fake Slack."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from datetime import date

import aiohttp
from sqlalchemy import text

from bot.console.charts import chart_data
from bot.console.queries import OVERVIEW_COLUMNS
from bot.console.tables import table
from bot.console.web import COOKIE, GAPS_PER_PAGE
from bot.core.writers import OFFLINE_MODEL
from bot.service.server import build_web_app, console_of
from knowledge.chunking import chunk_document
from tests.documents import policy
from tests.fake_slack import BOT_USER_ID, fake_slack, mention
from tests.loopback import serve
from tests.outage import postgres_outage, redis_outage
from tests.test_console import Console, _get, console, running_console
from tests.test_slack import _settings

__all__ = ["console"]  # the fixture the tests below use

LEAVE = "How many days of annual leave do I get?"
DOG = "Can I bring my dog to the office?"


async def _rows(session: aiohttp.ClientSession, url: str) -> list[dict[str, str]]:
    status, body = await _get(session, url)
    assert status == 200, body
    return list(csv.DictReader(io.StringIO(body)))


async def test_the_answer_log_records_platform_and_cited_documents_but_no_question(
    console: Console,
) -> None:
    await console.bot.answer_to(mention(f"<@{BOT_USER_ID}> {LEAVE}"))
    await console.bot.answer_to(mention(f"<@{BOT_USER_ID}> {DOG}"))
    [leave] = [d for d in await console.bot.core.kb.store.list_documents()]
    async with console.bot.core.kb.engine.connect() as connection:
        rows = (
            await connection.execute(
                text("SELECT outcome, platform, cited_documents, row_to_json(a)::text AS raw "
                     "FROM answers a ORDER BY created_at")
            )
        ).all()  # fmt: skip
    assert [(r.outcome, r.platform, r.cited_documents) for r in rows] == [
        ("answered", "slack", [leave.id]),
        ("not_covered", "slack", []),
    ]
    for row in rows:
        assert "leave do I get" not in row.raw and "dog" not in row.raw


async def test_documents_show_how_often_they_are_cited_and_which_never_are(
    console: Console,
) -> None:
    never = policy(url="https://hb.test/parking", title="Parking", sections={"Spaces": "Ask."})
    await console.bot.core.kb.store.upsert(never, chunk_document(never))
    for _ in range(2):
        await console.bot.answer_to(mention(f"<@{BOT_USER_ID}> {LEAVE}"))
    base = f"{console.bot.url}/admin/documents"
    session = await console.signed_in()
    async with session:
        by_title = {r["title"]: r for r in await _rows(session, base + "?format=csv")}
        assert by_title["Leave Policy"]["cited (30 days)"] == "2"
        assert by_title["Leave Policy"]["last cited"] == date.today().isoformat()
        assert by_title["Parking"]["cited (30 days)"] == "0"
        assert by_title["Parking"]["last cited"] == "never"
        only_never = await _rows(session, base + "?cited=never&format=csv")
        assert [r["title"] for r in only_never] == ["Parking"]
        status, page = await _get(session, base)
        assert status == 200 and "?cited=never" in page and "Show only documents never" in page
        _, page = await _get(session, base + "?cited=never")
        assert "?cited=never&amp;format=csv&amp;table=documents" in page  # the filtered CSV


async def test_sources_show_how_their_last_sync_went(console: Console) -> None:
    async with console.bot.core.kb.engine.begin() as connection:
        await connection.execute(
            text(
                """
                INSERT INTO sources (name, kind, settings, interval_seconds, last_sync_at,
                    last_success_at, last_error, pages, added, failed)
                VALUES ('intranet', 'web', CAST(:settings AS jsonb), 3600, now(),
                    now() - interval '1 day', :error, 12, 3, 1)
                """
            ),
            {"settings": json.dumps({"sitemap": "https://hb.test/sitemap.xml"}), "error": "=1+1"},
        )
    session = await console.signed_in()
    async with session:
        [row] = await _rows(session, f"{console.bot.url}/admin/sources?format=csv")
        assert (row["name"], row["kind"], row["pages"], row["added"]) == (
            "intranet",
            "web",
            "12",
            "3",
        )
        assert row["last error"] == "'=1+1"  # a formula, quoted for spreadsheets
        assert row["last sync"].endswith("UTC") and row["last success"] != "never"
        status, page = await _get(session, f"{console.bot.url}/admin/sources")
        assert status == 200 and "intranet" in page


async def test_usage_by_model_and_by_platform_each_export_as_csv(console: Console) -> None:
    await console.bot.answer_to(mention(f"<@{BOT_USER_ID}> {LEAVE}"))
    async with console.bot.core.kb.engine.begin() as connection:
        # An answer recorded before 0014 has no platform.
        await connection.execute(
            text(
                "INSERT INTO answers (id, outcome, grounded, cached, model, latency_ms, "
                "question_hash) VALUES ('old', 'answered', true, false, :model, 5, 'h')"
            ),
            {"model": OFFLINE_MODEL},
        )
    base = f"{console.bot.url}/admin/usage"
    session = await console.signed_in()
    async with session:
        [model] = await _rows(session, base + "?format=csv")
        assert model["model"] == OFFLINE_MODEL and model["answers"] == "2"
        platforms = await _rows(session, base + "?format=csv&table=platforms")
        assert {(r["platform"], r["answers"], r["answered"]) for r in platforms} == {
            ("slack", "1", "1"),
            ("unknown", "1", "1"),
        }
        assert (await _get(session, base + "?format=csv&table=nope"))[0] == 404
        status, page = await _get(session, base)
        assert status == 200 and "By platform" in page and "table=platforms" in page


async def test_the_overview_draws_charts_with_the_script_it_serves_itself(
    console: Console,
) -> None:
    await console.bot.answer_to(mention(f"<@{BOT_USER_ID}> {LEAVE}"))
    session = await console.signed_in()
    async with session:
        async with session.get(f"{console.bot.url}/admin") as response:
            page = await response.text()
            policy_header = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy_header and "unsafe-inline" not in policy_header
        scripts = re.findall(r'<script src="([^"]+)"', page)
        assert scripts == ["/admin/static/vendor/chart.umd.min.js", "/admin/static/console.js"]
        assert "<script>" not in page and "https://" not in page.split("<main>")[0]
        charts = [json.loads(c) for c in re.findall(r"data-chart='([^']+)'", page)]
        assert [c["id"] for c in charts] == ["questions", "votes", "latency", "cost"]
        answered = charts[0]["series"][0]
        assert answered["label"] == "answered" and answered["data"] == [1]
        assert charts[0]["labels"] == [date.today().isoformat()]
        assert "<table" in page  # the same figures without JavaScript
        for path in scripts:
            async with session.get(console.bot.url + path) as response:
                assert response.status == 200
                assert response.content_type == "text/javascript"
        async with aiohttp.ClientSession() as anonymous:  # static files need no session
            for path in ("/admin/static/console.css", "/admin/static/../web.py"):
                async with anonymous.get(console.bot.url + path) as response:
                    assert response.status == (200 if path.endswith(".css") else 404)


async def test_the_gap_queue_pages_past_a_hundred_and_shows_the_wordings_it_groups(
    console: Console,
) -> None:
    extra = 5
    async with console.bot.core.kb.engine.begin() as connection:
        for n in range(GAPS_PER_PAGE + extra):
            await connection.execute(
                text(
                    "INSERT INTO gaps (question, reason, scopes, times_asked) "
                    "VALUES (:q, 'declined', '{public}', :times)"
                ),
                {"q": f"Question number {n}?", "times": 1000 - n},
            )
        first = (await connection.execute(text("SELECT min(id) FROM gaps"))).scalar_one()
        for answer_id, wording in (("a1", "Question number 0?"), ("a2", "Is it number zero?")):
            await connection.execute(
                text("INSERT INTO gap_askers (gap_id, answer_id, question) VALUES (:g, :a, :q)"),
                {"g": first, "a": answer_id, "q": wording},
            )
    base = f"{console.bot.url}/admin/gaps"
    session = await console.signed_in()
    async with session:
        _, page_one = await _get(session, base)
        assert page_one.count('class="gap"') == GAPS_PER_PAGE
        assert "page 1 of 2" in page_one and "?page=2" in page_one
        assert "Is it number zero?" in page_one and "2 wordings grouped here" in page_one
        for asked in ("?page=2", "?page=99"):
            _, page_two = await _get(session, base + asked)
            assert page_two.count('class="gap"') == extra and "page 2 of 2" in page_two
            assert f"Question number {GAPS_PER_PAGE + extra - 1}?" in page_two
        assert (await _get(session, base + "?page=x"))[0] == 200
        exported = await _rows(session, base + "?format=csv")
        assert len(exported) == GAPS_PER_PAGE + extra


async def test_the_gap_queue_shows_one_reason_at_a_time(console: Console) -> None:
    await console.bot.answer_to(mention(f"<@{BOT_USER_ID}> {DOG}"))  # declined
    async with console.bot.core.kb.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO gaps (question, reason, scopes, bot_answer) "
                "VALUES ('Why is the sky blue?', 'downvoted', '{public}', 'It is green.')"
            )
        )
    base = f"{console.bot.url}/admin/gaps"
    session = await console.signed_in()
    async with session:
        _, everything = await _get(session, base)
        assert "sky blue" in everything and "bring my dog" in everything
        _, voted = await _get(session, base + "?reason=downvoted")
        assert "sky blue" in voted and "bring my dog" not in voted
        assert "?format=csv&amp;reason=downvoted" in voted
        [row] = await _rows(session, base + "?format=csv&reason=downvoted")
        assert row["question"] == "Why is the sky blue?"
        _, unknown = await _get(session, base + "?reason=nonsense")  # shows everything
        assert "sky blue" in unknown and "bring my dog" in unknown


async def test_a_session_ends_when_its_admin_is_no_longer_in_the_admin_lists(
    console: Console,
) -> None:
    session = await console.signed_in()
    link = await console.link()
    async with session:
        assert (await _get(session, f"{console.bot.url}/admin"))[0] == 200
        # The same Redis and database, served with SLACK_ADMINS no longer naming the admin
        # (what a restart with the changed setting does).
        settings = dataclasses.replace(console.settings, slack_admins=("USOMEONEELSE",))
        app = build_web_app(core=console.bot.core, console=console_of(settings, console.bot.core))
        async with serve(app) as other:
            [cookie] = [c.value for c in session.cookie_jar if c.key == COOKIE]
            async with aiohttp.ClientSession(cookies={COOKIE: cookie}) as same_cookie:
                status, page = await _get(same_cookie, f"{other}/admin")
                assert status == 401 and "<table" not in page
            async with aiohttp.ClientSession() as fresh:
                assert (await _get(fresh, link.replace(console.bot.url, other)))[0] == 403
        # Closed on the server too: the first app no longer knows the session either.
        assert (await _get(session, f"{console.bot.url}/admin"))[0] == 401


async def test_redis_down_is_a_one_line_503_naming_redis(database_url: str, redis_url: str) -> None:
    async with fake_slack() as slack, redis_outage(redis_url) as (proxy, through_proxy):
        settings = _settings(
            slack, database_url, through_proxy, SUPPORTBOT_PUBLIC_URL="http://127.0.0.1:1"
        )
        async with running_console(settings, slack) as console:
            session = await console.signed_in()
            link = await console.link()
            async with session:
                await proxy.cut()
                for url in (f"{console.bot.url}/admin", f"{console.bot.url}/admin/gaps", link):
                    status, page = await _get(session, url)
                    assert status == 503, page
                    assert "Redis (REDIS_URL)" in page and "Traceback" not in page
                await proxy.restore()


async def test_postgres_down_is_a_one_line_503_naming_postgres(
    database_url: str, postgres_server_url: str, redis_url: str
) -> None:
    async with (
        fake_slack() as slack,
        postgres_outage(postgres_server_url, database_url) as (database, through_proxy),
    ):
        settings = _settings(
            slack, through_proxy, redis_url, SUPPORTBOT_PUBLIC_URL="http://127.0.0.1:1"
        )
        async with running_console(settings, slack) as console:
            session = await console.signed_in()
            async with session:
                await database.cut()
                for path in ("/admin", "/admin/gaps", "/admin/documents", "/admin/usage"):
                    status, page = await _get(session, console.bot.url + path)
                    assert status == 503, page
                    assert "Postgres (DATABASE_URL)" in page and "Traceback" not in page
                await database.restore()
                assert (await _get(session, f"{console.bot.url}/admin"))[0] == 200


def test_charts_keep_every_day_on_their_axis() -> None:
    columns = OVERVIEW_COLUMNS
    rows = [
        ("2026-03-04", 1, 0, 0, 2, 0, 1, 0.5, 30, 90),
        ("2026-03-01", 4, 1, 0, 0, 2, 0, 0.25, 20, 40),
    ]
    charts = {c["id"]: c for c in chart_data(table("overview", columns, rows))}
    days = ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]
    assert all(c["labels"] == days for c in charts.values())
    answered, _declined, _failed, cached = charts["questions"]["series"]
    assert answered["data"] == [4, 0, 0, 1] and cached["data"] == [0, 0, 0, 2]
    median, p95 = charts["latency"]["series"]
    assert median["data"] == [20, None, None, 30] and p95["data"] == [40, None, None, 90]
    assert charts["cost"]["series"][0]["data"] == [0.25, 0, 0, 0.5]
    assert chart_data(table("overview", columns, []))[0]["labels"] == []
