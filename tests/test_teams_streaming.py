"""Teams answers streamed in personal chats with Teams' streaming protocol, and what every
answer carries for Teams to render itself: the AI label, citations and its own feedback.
Activities posted to the real endpoint, the fake Bot Connector checking the streaming rules, a
model streaming server-sent events."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.fake_openai import FakeOpenAI, fake_openai, leave_answers
from tests.fake_teams import (
    ALICE,
    FakeBotConnector,
    feedback_invoke,
    group_chat_mention,
    personal_message,
)
from tests.test_teams import (
    QUESTION,
    TeamsBot,
    _environment,
    access_file,
    connector,
    running_bot,
)

__all__ = ["access_file", "connector"]  # fixtures shared with the Teams tests

CAROL = dataclasses.replace(
    ALICE, id="29:1carol", name="Carol Cole", aad_object_id="0c0c0c0c-0000-4000-8000-00000000ca01"
)
ANSWER = "Everyone gets 25 days of annual leave plus public holidays [1]."


@pytest.fixture
async def model() -> AsyncIterator[FakeOpenAI]:
    async with fake_openai() as llm:
        # Long enough, slow enough for more than one update at Teams' one per second.
        llm.default, llm.chunk_chars, llm.pause = leave_answers, 4, 0.12
        yield llm


@pytest.fixture
async def bot(
    connector: FakeBotConnector, model: FakeOpenAI, database_url: str, redis_url: str,
    access_file: Path,
) -> AsyncIterator[TeamsBot]:  # fmt: skip
    settings = _environment(database_url, redis_url, access_file, OPENAI_BASE_URL=model.base_url)
    async with running_bot(settings, connector) as running:
        yield running


def entity(activity: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(e for e in activity.get("entities") or [] if e["type"] == kind)


async def streamed(bot: TeamsBot, question: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    status, _ = await bot.post(question)
    assert status in (200, 201)

    def ended() -> bool:
        return any(u[-1]["type"] == "message" for u in bot.connector.streams.values())

    await bot.connector.wait_for(ended, timeout=20)
    [(stream_id, updates)] = bot.connector.streams.items()
    return stream_id, updates


async def test_a_personal_chat_streams_then_ends_with_label_citations_and_feedback(
    bot: TeamsBot,
) -> None:
    question = personal_message(QUESTION, service_url=bot.connector.service_url)
    stream_id, updates = await streamed(bot, question)
    first, *middle, last = updates
    assert first["type"] == "typing" and entity(first, "streaminfo")["streamType"] == "informative"
    streaming = [u for u in middle if entity(u, "streaminfo")["streamType"] == "streaming"]
    assert streaming and all(ANSWER.startswith(u["text"]) for u in streaming)
    assert all(entity(u, "streaminfo")["streamId"] == stream_id for u in [*middle, last])
    assert last["type"] == "message" and last["text"] == ANSWER
    assert entity(last, "streaminfo") == {
        "type": "streaminfo", "streamType": "final", "streamId": stream_id
    }  # fmt: skip
    label = entity(last, "https://schema.org/Message")
    assert label["additionalType"] == ["AIGeneratedContent"]
    [claim] = label["citation"]
    assert claim["position"] == 1
    assert claim["appearance"]["url"] == "https://hb.test/leave#annual-leave"
    assert "25 days" in claim["appearance"]["abstract"]
    assert last["channelData"]["feedbackLoopEnabled"] is True
    titles = [a["title"] for a in last["attachments"][0]["content"]["actions"]]
    assert "Ask a human" in titles and "👍 Helpful" not in titles
    # The stream is the one message of the reply.
    assert [a["id"] for a in bot.messages_to(question)] == [stream_id]


async def test_a_cached_answer_is_the_same_streamed_message_at_once(bot: TeamsBot) -> None:
    url = bot.connector.service_url
    await streamed(bot, personal_message(QUESTION, service_url=url))
    bot.connector.streams.clear()
    # Someone else (Alice's chat would make it a follow-up) who may see the same documents.
    _, updates = await streamed(bot, personal_message(QUESTION, user=CAROL, service_url=url))
    first, last = updates  # nothing to stream in between: the answer was cached
    assert entity(first, "streaminfo")["streamType"] == "informative"
    assert last["text"] == ANSWER and last["channelData"]["feedbackLoopEnabled"] is True
    assert entity(last, "https://schema.org/Message")["citation"]


async def test_a_group_chat_gets_one_message_with_the_label_and_citations(bot: TeamsBot) -> None:
    reply = await bot.ask(group_chat_mention(QUESTION, service_url=bot.connector.service_url))
    assert bot.connector.streams == {}
    label = entity(reply, "https://schema.org/Message")
    assert label["additionalType"] == ["AIGeneratedContent"]
    assert label["citation"][0]["appearance"]["url"] == "https://hb.test/leave#annual-leave"


async def test_a_stream_the_asker_stops_ends_quietly_and_is_logged(
    bot: TeamsBot, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        await bot.post(personal_message(QUESTION, service_url=bot.connector.service_url))
        await bot.connector.wait_for(lambda: bool(bot.connector.streams))
        bot.connector.fail(403, times=50, code="ContentStreamNotAllowed")
        await bot.connector.wait_for(lambda: "the asker stopped it" in caplog.text, timeout=20)
        await bot.endpoint.bot.drain()
    [updates] = bot.connector.streams.values()
    assert all(u["type"] == "typing" for u in updates)  # no final message after the stop
    refused = [c for c in bot.connector.calls if c.status == 403]
    assert len(refused) == 1  # nothing more was sent once Teams said stop


async def test_teams_own_thumbs_down_is_stored_as_a_vote(bot: TeamsBot) -> None:
    question = personal_message(QUESTION, service_url=bot.connector.service_url)
    stream_id, _ = await streamed(bot, question)
    await bot.endpoint.bot.drain()
    invoke = feedback_invoke(
        stream_id, "dislike", comment="wrong", service_url=bot.connector.service_url
    )
    status, _ = await bot.post(invoke)
    assert status == 200
    async with bot.core.kb.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT * FROM feedback"))).mappings().all()
        gaps = (await connection.execute(text("SELECT question FROM gaps"))).scalars().all()
    assert [(r["vote"], r["platform"]) for r in rows] == [(-1, "teams")]
    assert gaps == [QUESTION]  # a 👎 still becomes a gap


async def test_a_link_off_the_sources_is_never_streamed_and_the_final_is_cleaned(
    bot: TeamsBot, model: FakeOpenAI
) -> None:
    model.default = lambda _body: (
        "Everyone gets 25 days [1]. Book them [in the portal](https://evil.example/book) "
        "or at https://evil.example/leave today [1]."
    )
    _, updates = await streamed(
        bot, personal_message(QUESTION, service_url=bot.connector.service_url)
    )
    *typing, last = updates
    assert any(entity(u, "streaminfo")["streamType"] == "streaming" for u in typing)
    assert not any("evil.example" in (u.get("text") or "") for u in typing)
    # The final message is the checked answer: the spoofed link's target is shown as code,
    # never behind a label.
    assert last["type"] == "message" and "in the portal" in last["text"]
    assert "](https://evil.example" not in last["text"]
    assert "`https://evil.example/book`" in last["text"]
