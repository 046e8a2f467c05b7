"""The admin console end to end: one-time links from the command line and from Slack, the
session they open, CSRF on every form, escaped pages, CSV exports, and answering a gap from the
web reaching the asker's Slack thread. Real server, Postgres and Redis; fake Slack."""

from __future__ import annotations

import argparse
import csv
import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from bot.cli import console as console_cli
from bot.console.signin import LINK_SECONDS, RedisConsoleSignIn
from bot.console.web import COOKIE
from bot.platforms.slack.app import build_slack_app
from bot.service.server import build_web_app, console_of, run_jobs
from bot.service.settings import Settings, SettingsError
from bot.service.wiring import open_core
from knowledge.chunking import chunk_document
from tests.documents import policy
from tests.fake_slack import BOT_USER_ID, SIGNING_SECRET, FakeSlack, fake_slack, mention
from tests.loopback import serve
from tests.test_slack import ADMIN, Bot, _settings

DOG = "Can I bring my dog to the office?"
DOG_ANSWER = "Yes: dogs are welcome in the office on Fridays, on a lead."
SCRIPT = "What about <script>alert('x')</script> my pay?"


@dataclass
class Console:
    bot: Bot
    sign_in: RedisConsoleSignIn
    settings: Settings

    async def link(self, admin: str = ADMIN) -> str:
        return await self.sign_in.issue_link(admin, self.bot.url)

    async def signed_in(self) -> aiohttp.ClientSession:
        session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        async with session.get(await self.link(), allow_redirects=False) as response:
            assert response.status == 303
        return session

    async def open_gaps(self) -> list[int]:
        async with self.bot.core.kb.engine.connect() as connection:
            rows = await connection.execute(text("SELECT id FROM gaps WHERE status = 'open'"))
            return [row.id for row in rows]


@asynccontextmanager
async def running_console(settings: Settings, slack: FakeSlack) -> AsyncIterator[Console]:
    async with open_core(settings) as core:
        document = policy(url="https://hb.test/leave", title="Leave Policy", scopes=("public",))
        await core.kb.store.upsert(document, chunk_document(document))
        slack_app = build_slack_app(settings, core)
        app = build_web_app(
            slack=slack_app,
            slack_signing_secret=SIGNING_SECRET,
            core=core,
            console=console_of(settings, core),
        )
        async with run_jobs(core), serve(app) as url:
            sign_in = RedisConsoleSignIn(core.redis, settings.redis_namespace)
            yield Console(Bot(url, core, slack), sign_in, settings)


@pytest.fixture
async def console(database_url: str, redis_url: str) -> AsyncIterator[Console]:
    async with fake_slack() as slack:
        settings = _settings(
            slack, database_url, redis_url, SUPPORTBOT_PUBLIC_URL="http://127.0.0.1:1"
        )
        async with running_console(settings, slack) as running:
            yield running


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url, allow_redirects=False) as response:
        return response.status, await response.text()


async def test_a_link_signs_in_once_and_forged_expired_and_reused_links_are_refused(
    console: Console,
) -> None:
    base = console.bot.url
    async with aiohttp.ClientSession() as anonymous:
        for path in (
            "/admin",
            "/admin/gaps",
            "/admin/documents",
            "/admin/usage",
            "/admin?format=csv",
        ):
            status, page = await _get(anonymous, base + path)
            assert status == 401 and "/kb console" in page and "<table" not in page
        anonymous.cookie_jar.update_cookies({COOKIE: "forged-session"})
        assert (await _get(anonymous, base + "/admin"))[0] == 401

    link = await console.link()
    links = f"{console.settings.redis_namespace}:console:link:*"
    [key] = await console.bot.core.redis.keys(links)
    # Stored hashed: the token in the link appears nowhere in Redis.
    token = link.rpartition("token=")[2]
    assert token.encode() not in key and 0 < await console.bot.core.redis.ttl(key) <= LINK_SECONDS

    # Slack and Teams fetching the link for a preview do not use it up.
    for agent in ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "SkypeUriPreview"):
        async with aiohttp.ClientSession(headers={"User-Agent": agent}) as previewer:
            status, page = await _get(previewer, link)
            assert status == 200 and "Open this sign-in link" in page and not previewer.cookie_jar

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(link, allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"] == "/admin"
            cookie = response.headers["Set-Cookie"]
        assert all(part in cookie for part in ("HttpOnly", "SameSite=Strict", "Max-Age=28800"))
        assert "Path=/admin" in cookie
        status, page = await _get(browser, base + "/admin")
        assert status == 200 and "questions per day" in page
        for path in ("/admin/gaps", "/admin/documents", "/admin/usage"):
            assert (await _get(browser, base + path))[0] == 200

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
        assert (await _get(other, link))[0] == 403  # used once already
        forged = link.rpartition("token=")[0] + "token=" + "A" * 43
        assert (await _get(other, forged))[0] == 403
        expired = await console.link()
        # What Redis does when the 10 minutes are up: the key is gone.
        for stale in await console.bot.core.redis.keys(links):
            await console.bot.core.redis.expire(stale, 0)
        assert (await _get(other, expired))[0] == 403
        assert (await _get(other, base + "/admin"))[0] == 401


async def test_a_form_without_the_csrf_token_changes_nothing_and_with_it_reaches_the_thread(
    console: Console,
) -> None:
    question = console.bot.slack.remember(mention(f"<@{BOT_USER_ID}> {DOG}"))
    await console.bot.answer_to(question)
    [gap_id] = await console.open_gaps()
    documents = len(await console.bot.core.kb.store.list_documents())
    answer_url = f"{console.bot.url}/admin/gaps/{gap_id}/answer"

    session = await console.signed_in()
    async with session:
        status, page = await _get(session, f"{console.bot.url}/admin/gaps")
        assert status == 200 and DOG.replace("?", "") in page
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert csrf is not None
        for form in ({"answer": DOG_ANSWER}, {"answer": DOG_ANSWER, "csrf_token": "wrong"}):
            async with session.post(answer_url, data=form) as response:
                assert response.status == 403
        async with aiohttp.ClientSession() as anonymous:  # no session, but a stolen token
            form = {"answer": DOG_ANSWER, "csrf_token": csrf.group(1)}
            async with anonymous.post(answer_url, data=form) as response:
                assert response.status == 401
        assert await console.open_gaps() == [gap_id]
        assert len(await console.bot.core.kb.store.list_documents()) == documents
        assert not any(DOG_ANSWER in m["text"] for m in console.bot.slack.posted("CGENERAL"))

        form = {"answer": DOG_ANSWER, "scopes": "", "csrf_token": csrf.group(1)}
        async with session.post(answer_url, data=form) as response:
            assert response.status == 200
        sign_out = f"{console.bot.url}/admin/sign-out"
        async with session.post(sign_out, data={}) as response:
            assert response.status == 403  # no CSRF token: still signed in
        assert (await _get(session, f"{console.bot.url}/admin"))[0] == 200
        [cookie] = [c.value for c in session.cookie_jar if c.key == COOKIE]
        async with session.post(sign_out, data={"csrf_token": csrf.group(1)}) as response:
            assert response.status == 200
        async with aiohttp.ClientSession(cookies={COOKIE: cookie}) as replay:
            assert (await _get(replay, f"{console.bot.url}/admin"))[0] == 401  # gone on the server
    assert await console.open_gaps() == []
    await console.bot.slack.wait_for(
        lambda: any(DOG_ANSWER in m["text"] for m in console.bot.slack.posted("CGENERAL"))
    )
    notice = next(m for m in console.bot.slack.posted("CGENERAL") if DOG_ANSWER in m["text"])
    assert notice["thread_ts"] == question["ts"]


async def test_pages_escape_what_employees_typed_and_each_table_exports_as_csv(
    console: Console,
) -> None:
    await console.bot.answer_to(mention(f"<@{BOT_USER_ID}> {SCRIPT}"))
    session = await console.signed_in()
    async with session:
        status, page = await _get(session, f"{console.bot.url}/admin/gaps")
        assert status == 200
        assert "<script>" not in page and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
        status, exported = await _get(session, f"{console.bot.url}/admin/gaps?format=csv")
        rows = list(csv.reader(io.StringIO(exported)))
        assert rows[0][:2] == ["id", "question"] and rows[1][1] == SCRIPT

        _, overview = await _get(session, f"{console.bot.url}/admin?format=csv")
        days = {row["day"]: row for row in csv.DictReader(io.StringIO(overview))}
        today = days[date.today().isoformat()]
        assert today["declined"] == "1" and today["answered"] == "0"
        assert float(today["median ms"]) > 0

        _, usage = await _get(session, f"{console.bot.url}/admin/usage?format=csv")
        [offline] = list(csv.DictReader(io.StringIO(usage)))
        assert offline["answers"] == "1" and offline["cost (USD)"] == "0.0"

        _, documents = await _get(session, f"{console.bot.url}/admin/documents?format=csv")
        titles = [row["title"] for row in csv.DictReader(io.StringIO(documents))]
        assert titles == ["Leave Policy"]


async def test_downvoted_answers_show_the_answer_given_and_its_sources(console: Console) -> None:
    asked = "How many days of annual leave do I get?"
    reply = await console.bot.answer_to(mention(f"<@{BOT_USER_ID}> {asked}"))
    key = await console.bot.vote(-1, reply, channel="CGENERAL")
    await console.bot.slack.wait_for(lambda: bool(console.bot.slack.responses_to(key)))
    await console.bot.answer_to(mention(f"<@{BOT_USER_ID}> {DOG}"))  # declined, not 👎
    session = await console.signed_in()
    async with session:
        status, exported = await _get(session, f"{console.bot.url}/admin/downvoted?format=csv")
        assert status == 200
        [row] = list(csv.DictReader(io.StringIO(exported)))
        assert row["question"] == asked and "25 days" in row["bot's answer"]
        assert "Leave Policy (https://hb.test/leave" in row["sources"]
        status, page = await _get(session, f"{console.bot.url}/admin/downvoted")
        assert status == 200 and "25 days" in page and "dog" not in page


async def test_only_admins_get_links_from_the_command_line_and_from_slack(
    console: Console, capsys: pytest.CaptureFixture[str]
) -> None:
    refused = await console_cli._console_link(console.settings, argparse.Namespace(admin="UALICE"))
    assert refused == 1 and "http" not in capsys.readouterr().out
    assert await console_cli._console_link(console.settings, argparse.Namespace(admin=ADMIN)) == 0
    assert "/admin/sign-in?token=" in capsys.readouterr().out

    key = await console.bot.command("console", user="UALICE")
    await console.bot.slack.wait_for(lambda: bool(console.bot.responses(key)))
    assert "sign-in" not in console.bot.responses(key)[0]
    key = await console.bot.command("console")
    await console.bot.slack.wait_for(lambda: bool(console.bot.responses(key)))
    [response] = console.bot.slack.responses_to(key)
    assert response["response_type"] == "ephemeral" and "/admin/sign-in?token=" in response["text"]


async def test_the_session_cookie_is_secure_when_the_public_url_is_https(
    database_url: str, redis_url: str
) -> None:
    async with fake_slack() as slack:
        settings = _settings(
            slack, database_url, redis_url, SUPPORTBOT_PUBLIC_URL="https://bot.example.com"
        )
        async with running_console(settings, slack) as console:
            link = await console.link()
            async with (
                aiohttp.ClientSession() as browser,
                browser.get(link, allow_redirects=False) as response,
            ):
                assert response.status == 303
                assert "Secure" in response.headers["Set-Cookie"]


def test_the_public_url_is_https_or_loopback(tmp_path: Path) -> None:
    base: dict[str, Any] = {"SUPPORTBOT_HOME": str(tmp_path)}
    with pytest.raises(SettingsError, match="https"):
        Settings.from_env({**base, "SUPPORTBOT_PUBLIC_URL": "http://bot.example.com"})
    settings = Settings.from_env({**base, "SUPPORTBOT_PUBLIC_URL": "https://bot.example.com/"})
    assert settings.public_url == "https://bot.example.com"
    assert Settings.from_env({**base, "SUPPORTBOT_PUBLIC_URL": "http://localhost:3000"}).public_url
