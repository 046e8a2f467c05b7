"""Chat admin commands, the same words in Slack's /kb and Teams' kb: parsing, and what ``add``
refuses (paths on the server; the same words for every download that fails)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from bot.platforms.admin import (
    AdminCommand,
    AdminCommandError,
    KnowledgeAdmin,
    parse_admin_command,
)
from bot.service.settings import Settings
from bot.service.wiring import open_knowledge_base
from tests.environment import core_environment
from tests.loopback import drip, free_port, serve


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("", AdminCommand("help")),
        ("help", AdminCommand("help")),
        ("LIST", AdminCommand("list")),
        ("add https://x.test/a", AdminCommand("add", "https://x.test/a")),
        (
            "add <https://x.test/a|x.test/a> hr Finance",
            AdminCommand("add", "https://x.test/a", ("hr", "finance")),
        ),
        ("remove Leave Policy", AdminCommand("remove", "Leave Policy")),
        ("remove <https://x.test/a>", AdminCommand("remove", "https://x.test/a")),
    ],
)
def test_commands_are_parsed(text: str, command: AdminCommand) -> None:
    assert parse_admin_command(text) == command


@pytest.mark.parametrize(
    ("text", "problem"),
    [("add", "Please give a link"), ("remove", "which document"), ("add u h@r", "not a scope"),
     ("delete x", "don't know the command `delete`")],
)  # fmt: skip
def test_bad_commands_say_how_to_write_them(text: str, problem: str) -> None:
    with pytest.raises(AdminCommandError, match=problem):
        parse_admin_command(text)


@pytest.mark.parametrize(
    "text", ["add /", "add /etc hr", "add ./docs", "add file:///etc/passwd", "add C:\\docs"]
)
def test_add_takes_only_a_link(text: str) -> None:
    with pytest.raises(AdminCommandError, match=r"^Please give a link \(http or https\)"):
        parse_admin_command(text)


@pytest.fixture
async def admin(database_url: str, redis_url: str) -> AsyncIterator[KnowledgeAdmin]:
    environment = core_environment(
        database_url=database_url, redis_url=redis_url, SUPPORTBOT_FETCH_TIMEOUT="1"
    )
    async with open_knowledge_base(Settings.from_env(environment)) as kb:
        yield KnowledgeAdmin(kb)


async def test_a_path_reaching_the_worker_is_refused_and_nothing_is_read(
    admin: KnowledgeAdmin, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_reading(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a path from chat was read on the server")

    for name in ("_kind_of", "files_in", "read_file"):
        monkeypatch.setattr(f"knowledge.loading.{name}", no_reading)
    # A job queued before links were checked at parsing would bring its path here.
    for target in ("/", "/etc", "tests"):
        reply = await admin.ingest(target, ())
        assert reply.startswith("Please give a link (http or https)")


async def test_a_closed_port_a_401_and_a_timeout_get_the_same_refusal(
    admin: KnowledgeAdmin,
) -> None:
    async def unauthorised(_request: web.Request) -> web.Response:
        return web.Response(status=401, text="who are you?")

    app = web.Application()
    app.router.add_get("/401", unauthorised)
    app.router.add_get("/slow", drip)
    async with serve(app) as base:
        urls = [f"http://127.0.0.1:{free_port()}/page", f"{base}/401", f"{base}/slow"]
        replies = [(await admin.ingest(url, ())).replace(url, "<url>") for url in urls]
    assert len(set(replies)) == 1, replies
    assert replies[0].startswith("Could not add <url>: I could not download it.")
    for telling in ("401", "timed out", "refused", "reach", "connect", "127.0.0.1"):
        assert telling not in replies[0].lower()
