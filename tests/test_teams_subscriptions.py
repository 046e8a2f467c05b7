"""`kb subscribe` typed in a Teams channel end to end: the channel's own new posts announce
changes of the documents it may see."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from knowledge.chunking import chunk_document
from tests.documents import policy
from tests.fake_teams import (
    ALICE,
    HELPDESK_CHANNEL_ID,
    channel_mention,
    fake_connector,
    personal_message,
)
from tests.test_teams import (
    ACCESS,
    ADMIN,
    HR_CHANNEL,
    SALARIES,
    TeamsBot,
    _environment,
    running_bot,
)


@pytest.fixture
async def bot(database_url: str, redis_url: str, tmp_path: Path) -> AsyncIterator[TeamsBot]:
    """The bot of test_teams.py, looking for changes to announce every 0.2 s."""
    (tmp_path / "access.yml").write_text(ACCESS)
    settings = _environment(
        database_url, redis_url, tmp_path / "access.yml", SUPPORTBOT_CHANGE_POLL_SECONDS="0.2"
    )
    async with fake_connector() as connector, running_bot(settings, connector) as running:
        yield running


def _text(reply: dict[str, object]) -> str:
    return str(reply.get("text") or "")


async def test_kb_subscribe_in_a_channel_announces_changes_it_may_see_there(bot: TeamsBot) -> None:
    url = bot.connector.service_url
    refused = await bot.ask(
        channel_mention("kb subscribe", user=ALICE, channel_id=HR_CHANNEL, service_url=url)
    )
    assert "only knowledge-base admins" in _text(refused)
    personal = await bot.ask(personal_message("kb subscribe", user=ADMIN, service_url=url))
    assert "Type this in the channel" in _text(personal)
    for channel in (HR_CHANNEL, HELPDESK_CHANNEL_ID):
        reply = await bot.ask(
            channel_mention("kb subscribe", user=ADMIN, channel_id=channel, service_url=url)
        )
        assert "will now hear of changes" in _text(reply)

    store = bot.core.kb.store
    salaries = policy(url="https://hb.test/salaries", title="Salary Bands", scopes=("hr",),
                      sections={**SALARIES, "Bonus": "Paid in March."})  # fmt: skip
    await store.upsert(salaries, chunk_document(salaries))
    await bot.connector.wait_for(lambda: bool(bot.connector.activities(HR_CHANNEL)))
    [posted] = bot.connector.activities(HR_CHANNEL)
    assert "Salary Bands" in _text(posted) and "Added: Salary Bands › Bonus" in _text(posted)

    leave = policy(url="https://hb.test/leave", sections={"Annual leave": "30 days."})
    await store.upsert(leave, chunk_document(leave))
    await bot.connector.wait_for(lambda: bool(bot.connector.activities(HELPDESK_CHANNEL_ID)))
    [public] = bot.connector.activities(HELPDESK_CHANNEL_ID)  # never the hr change
    assert "Leave Policy" in _text(public) and "Removed: Leave Policy › Sick leave" in _text(public)

    reply = await bot.ask(
        channel_mention("kb unsubscribe", user=ADMIN, channel_id=HR_CHANNEL, service_url=url)
    )
    assert "will no longer hear" in _text(reply)
