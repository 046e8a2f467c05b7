"""`kb subscribe` typed in a Teams channel end to end: the channel's own new posts announce
changes of the documents it may see."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.loop.reviews import ReviewRound
from knowledge.chunking import chunk_document
from knowledge.types import MetadataChange
from tests.documents import policy
from tests.fake_teams import (
    ALICE,
    HELPDESK_CHANNEL_ID,
    TENANT_ID,
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


async def test_an_owner_known_to_teams_is_reminded_in_a_new_personal_chat(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    (tmp_path / "access.yml").write_text(ACCESS)
    async with fake_connector() as connector:
        settings = _environment(
            database_url, redis_url, tmp_path / "access.yml",
            TEAMS_SERVICE_URL=connector.service_url, TEAMS_ALLOWED_TENANTS=TENANT_ID,
        )  # fmt: skip
        async with running_bot(settings, connector) as bot:
            # Due in 2100: the service's own hourly pass (today's date) never finds them overdue,
            # so it cannot claim these reminders before the pass this test makes.
            due = date(2100, 1, 31)
            overdue = MetadataChange(owner=ALICE.aad_object_id, review_by=due)
            await bot.core.kb.store.set_metadata("Leave Policy", overdue)
            unknown = MetadataChange(owner="nobody@contoso.example", review_by=due)
            await bot.core.kb.store.set_metadata("Salary Bands", unknown)
            outcome = await bot.core.reviews.remind(due + timedelta(days=1))
    assert outcome == ReviewRound((ALICE.aad_object_id,), ("nobody@contoso.example",))
    to_alice = connector.activities(ALICE.personal_conversation_id)
    assert len(to_alice) == 1 and "Leave Policy" in _text(to_alice[0])
    # The unknown owner goes to the admins, each in a personal chat of theirs.
    to_admin = connector.activities(ADMIN.personal_conversation_id)
    assert len(to_admin) == 1 and "I can't reach nobody@contoso.example" in _text(to_admin[0])
    [created, _] = connector.created_conversations
    assert created.parameters["members"] == [{"id": ALICE.aad_object_id}]
    assert created.parameters["tenantID"] == TENANT_ID  # botbuilder spells it so
