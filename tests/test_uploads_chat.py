"""Files sent to the bot in Slack and Teams, end to end: stored, ingested by a job, reported;
the same file delivered twice is ingested once; a file over the cap is refused."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.service.upload_jobs import UPLOAD_TASK
from bot.service.uploads import upload_key
from tests.fake_slack import FakeSlack, fake_slack, message
from tests.fake_teams import FakeBotConnector, fake_connector, file_message
from tests.test_slack import ACCESS as SLACK_ACCESS
from tests.test_slack import ADMIN as SLACK_ADMIN
from tests.test_slack import Bot
from tests.test_slack import _settings as slack_settings
from tests.test_slack import running_bot as running_slack_bot
from tests.test_teams import ADMIN as TEAMS_ADMIN
from tests.test_teams import _environment as teams_settings
from tests.test_teams import access_file as access_file  # a fixture
from tests.test_teams import running_bot as running_teams_bot

EXPENSES = (
    b"---\ntitle: Expenses Policy\nurl: https://hb.test/expenses\n---\n"
    b"# Expenses Policy\n\n## Meals\n\nMeals on business trips are refunded up to 40 euros.\n"
)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with fake_slack() as fake:
        yield fake


@pytest.fixture
async def connector() -> AsyncIterator[FakeBotConnector]:
    async with fake_connector() as fake:
        yield fake


async def _slack_bot(
    slack: FakeSlack, database_url: str, redis_url: str, tmp_path: Path, **extra: str
) -> Any:
    access = tmp_path / "slack-access.yml"
    access.write_text(SLACK_ACCESS)
    settings = slack_settings(
        slack, database_url, redis_url, SUPPORTBOT_ACCESS_FILE=str(access), **extra
    )
    return running_slack_bot(settings, slack)


async def _upload_jobs(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT status FROM procrastinate_jobs WHERE task_name = :task ORDER BY id"),
            {"task": UPLOAD_TASK},
        )
        return [str(status) for (status,) in rows]


async def _stored_bytes(engine: AsyncEngine) -> list[tuple[str, int | None]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT file_key, length(data) FROM uploads ORDER BY file_key")
        )
        return [(key, size) for key, size in rows]


def _texts(bot: Bot) -> list[str]:
    return [m["text"] for m in bot.slack.posted("DADMIN")]


async def test_a_slack_file_delivered_twice_is_ingested_by_one_job_into_one_document(
    slack: FakeSlack, database_url: str, redis_url: str, tmp_path: Path, engine: AsyncEngine
) -> None:
    file = slack.host_file("expenses.md", EXPENSES, "text/markdown")
    async with await _slack_bot(slack, database_url, redis_url, tmp_path) as bot:
        await bot.event(message("", user=SLACK_ADMIN, channel="DADMIN", files=[file]))
        await slack.wait_for(lambda: any("Added *Expenses Policy*" in t for t in _texts(bot)))
        # The same file again, in a message that escaped the event dedupe (a replay after
        # a replica died, say): recognised by its Slack file id.
        await bot.event(message("", user=SLACK_ADMIN, channel="DADMIN", files=[file]))
        await slack.wait_for(lambda: len(_texts(bot)) >= 4)
        documents = await bot.core.kb.store.list_documents()
    assert _texts(bot)[3] == (
        "I've dealt with this copy of expenses.md before; send a changed version to update it."
    )
    assert sum("Added" in t for t in _texts(bot)) == 1
    assert [d.title for d in documents].count("Expenses Policy") == 1
    assert await _upload_jobs(engine) == ["succeeded"]
    assert await _stored_bytes(engine) == [(upload_key("slack", file["id"], EXPENSES), None)]


async def test_a_slack_file_over_the_cap_is_refused_and_nothing_is_stored(
    slack: FakeSlack, database_url: str, redis_url: str, tmp_path: Path, engine: AsyncEngine
) -> None:
    file = slack.host_file("big.md", b"# Big\n\n" + b"word " * 400, "text/markdown")
    async with await _slack_bot(
        slack, database_url, redis_url, tmp_path, SUPPORTBOT_MAX_DOCUMENT_MB="0.001"
    ) as bot:
        await bot.event(message("", user=SLACK_ADMIN, channel="DADMIN", files=[file]))
        await slack.wait_for(lambda: bool(_texts(bot)))
    assert _texts(bot) == [
        "I couldn't read big.md: is over the 0.001 MB limit (SUPPORTBOT_MAX_DOCUMENT_MB)"
    ]
    assert await _stored_bytes(engine) == []
    assert await _upload_jobs(engine) == []


def _again(activity: dict[str, Any]) -> dict[str, Any]:
    """The same file in a second activity (a new id: not caught as a redelivery)."""
    return activity | {"id": f"f:{uuid.uuid4().hex}"}


async def test_a_teams_file_sent_twice_is_ingested_by_one_job_into_one_document(
    connector: FakeBotConnector,
    database_url: str,
    redis_url: str,
    access_file: Path,
    engine: AsyncEngine,
) -> None:
    settings = teams_settings(database_url, redis_url, access_file)
    async with running_teams_bot(settings, connector) as bot:
        url = connector.service_url
        download = connector.host_file("expenses.md", EXPENSES)
        sent = file_message("expenses.md", download, user=TEAMS_ADMIN, service_url=url)
        await bot.ask(sent)
        await connector.wait_for(lambda: len(bot.messages_to(sent)) >= 3)
        again = _again(sent)
        told = await bot.ask(again)
        # Sent again under the same id with other contents (Teams keeps a OneDrive file's id
        # when it is replaced): a new upload, which updates the document.
        changed = _again(sent)
        attachment = changed["attachments"][0]
        new_url = connector.host_file("expenses.md", EXPENSES.replace(b"40", b"45"))
        changed["attachments"] = [
            attachment | {"content": attachment["content"] | {"downloadUrl": new_url}}
        ]
        await bot.ask(changed)
        await connector.wait_for(lambda: len(bot.messages_to(changed)) >= 3)
        documents = await bot.core.kb.store.list_documents()
    assert "Added **Expenses Policy**" in bot.messages_to(sent)[2]["text"]
    assert told["text"] == (
        "I've dealt with this copy of expenses.md before; send a changed version to update it."
    )
    assert "Updated **Expenses Policy**" in bot.messages_to(changed)[2]["text"]
    assert [d.title for d in documents].count("Expenses Policy") == 1
    assert await _upload_jobs(engine) == ["succeeded", "succeeded"]
    unique_id = sent["attachments"][0]["content"]["uniqueId"]
    keys = {
        upload_key("teams", unique_id, EXPENSES.replace(b"40", b"45")),
        upload_key("teams", unique_id, EXPENSES),
    }
    assert {key for key, _ in await _stored_bytes(engine)} == keys
    assert [size for _, size in await _stored_bytes(engine)] == [None, None]


async def test_a_teams_file_over_the_cap_is_refused_naming_the_limit(
    connector: FakeBotConnector,
    database_url: str,
    redis_url: str,
    access_file: Path,
    engine: AsyncEngine,
) -> None:
    settings = teams_settings(
        database_url, redis_url, access_file, SUPPORTBOT_MAX_DOCUMENT_MB="0.001"
    )
    async with running_teams_bot(settings, connector) as bot:
        url = connector.service_url
        download = connector.host_file("big.md", b"# Big\n\n" + b"word " * 400)
        sent = file_message("big.md", download, user=TEAMS_ADMIN, service_url=url)
        refused = await bot.ask(sent)
    assert refused["text"] == (
        "I couldn't read big.md: is over the 0.001 MB limit (SUPPORTBOT_MAX_DOCUMENT_MB)"
    )
    assert await _stored_bytes(engine) == []
    assert await _upload_jobs(engine) == []
