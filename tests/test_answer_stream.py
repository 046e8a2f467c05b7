"""The answer as a stream of events (``AnswerService.stream``): statuses, the draft as it is
written with only complete and valid citation markers, then the checked final answer; real
Postgres and Redis, the model as a loopback server that streams server-sent events."""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.answer_events import AnswerEvent, Final, Status, TextDelta
from bot.core.answering import AnswerService
from bot.core.offline_writer import ExtractiveAnswerWriter
from bot.core.stream_gate import StreamGate
from bot.core.types import Question
from knowledge.chunking import chunk_document
from tests.documents import policy
from tests.fake_openai import FakeOpenAI
from tests.fake_openai_stream import STALL
from tests.test_answering import LEAVE, Bot, bot, build_service, llm_writer, source_number

__all__ = ["bot"]  # the fixture, shared with the answering tests

QUESTION = Question("How many days of annual leave do I get?")


async def events_of(service: AnswerService, question: Question = QUESTION) -> list[AnswerEvent]:
    return [event async for event in service.stream(question)]


def deltas(events: list[AnswerEvent]) -> list[str]:
    return [e.text for e in events if isinstance(e, TextDelta)]


def final(events: list[AnswerEvent]) -> Final:
    finals = [e for e in events if isinstance(e, Final)]
    assert len(finals) == 1 and events[-1] is finals[0]
    return finals[0]


async def test_an_answer_streams_with_checked_markers_and_ends_as_the_whole_answer(
    bot: Bot,
) -> None:
    def reply(body: dict[str, object]) -> str:
        n = source_number(body["messages"][-1]["content"], "Leave Policy")  # type: ignore[index]
        return f"You get 25 days of annual leave [{n}][9] a year [{n}]. Ask HR [0]."

    bot.llm.default, bot.llm.chunk_chars = reply, 3  # markers arrive cut in pieces
    events = await events_of(bot.service)
    assert [e.text for e in events if isinstance(e, Status)][:2] == [
        "Searching the policies…",
        "Writing the answer…",
    ]
    pieces = deltas(events)
    assert len(pieces) > 5
    assert not any("[9]" in p or "[0]" in p or "[9" in p for p in pieces)
    done = final(events)
    assert done.answer.outcome == "answered"
    assert done.answer.text == "You get 25 days of annual leave [1] a year [1]. Ask HR."
    assert "".join(pieces) == done.answer.text and not done.replaces
    assert bot.llm.requests[-1]["stream"] is True


async def test_a_declined_draft_shows_nothing_and_ends_not_covered(bot: Bot) -> None:
    bot.llm.default = lambda _body: "NOT_COVERED"
    events = await events_of(bot.service)
    assert deltas(events) == []
    assert final(events).answer.outcome == "not_covered"


async def test_a_draft_without_a_valid_citation_is_replaced_by_not_covered(bot: Bot) -> None:
    bot.llm.default = lambda _body: "Everyone gets 40 days of leave [7]."
    events = await events_of(bot.service)
    assert "".join(deltas(events)) == "Everyone gets 40 days of leave."
    done = final(events)
    assert done.answer.outcome == "not_covered" and done.replaces


async def test_a_cached_answer_is_one_final_event(bot: Bot) -> None:
    bot.llm.default = lambda body: (
        f"25 days [{source_number(body['messages'][-1]['content'], 'Leave Policy')}]."  # type: ignore[index]
    )
    first = final(await events_of(bot.service)).answer
    again = await events_of(bot.service)
    assert len(again) == 1
    assert final(again).answer.cached and final(again).answer.text == first.text


async def test_a_model_stalling_mid_answer_ends_in_the_apology(
    engine: AsyncEngine, llm: FakeOpenAI, cache_client: redis.asyncio.Redis
) -> None:
    service, store = build_service(
        engine, llm_writer(llm, timeout=0.5, retries=0), cache_client, uuid.uuid4().hex
    )
    document = policy(url="https://hb.test/leave", title="Leave Policy", sections=LEAVE)
    await store.upsert(document, chunk_document(document))
    llm.default = lambda _body: f"You get 25 days of annual{STALL} leave [1]."
    events = await events_of(service)
    assert "".join(deltas(events)) == "You get 25 days of annual"
    done = final(events)
    assert done.answer.outcome == "unavailable" and done.replaces
    assert done.answer.text.startswith("Sorry, I can't answer right now")


async def test_the_offline_writer_streams_line_by_line(
    engine: AsyncEngine, cache_client: redis.asyncio.Redis
) -> None:
    service, store = build_service(engine, ExtractiveAnswerWriter(), cache_client, uuid.uuid4().hex)
    document = policy(url="https://hb.test/leave", title="Leave Policy", sections=LEAVE)
    await store.upsert(document, chunk_document(document))
    events = await events_of(service, Question("How many unused days can I carry over?"))
    pieces = deltas(events)
    done = final(events)
    assert len(pieces) >= 3 and done.answer.grounded
    assert "".join(pieces) == done.answer.text


@pytest.mark.parametrize(
    ("pieces", "shown"),
    [
        (["Leave ", "[", "2", "]", " and ", "[1", ", 5]", "."], "Leave [1] and [2]."),
        (["Ask [9] ", " HR [0]", "."], "Ask HR."),
        (["  NOT_CO", "VERED"], ""),
        (["NOT", " really [1]"], "NOT really [1]"),
        (["See [the policy](https://hb.test) [1]"], "See [the policy](https://hb.test) [1]"),
        (
            ["See [the ", "policy](https://hb", ".test/a) [1]"],
            "See [the policy](https://hb.test/a) [1]",
        ),
        (["See https://hb.test/leave [1]."], "See https://hb.test/leave [1]."),
        (["Note [the policy", " and [1]"], "Note [the policy and [1]"),
    ],
)
def test_the_gate_lets_through_what_the_checked_answer_keeps(pieces: list[str], shown: str) -> None:
    gate = StreamGate(sources=2, hosts={"hb.test"})
    assert "".join(gate.feed(p) for p in pieces) + gate.finish() == shown


@pytest.mark.parametrize(
    ("pieces", "shown"),
    [
        (["Reset it [here](https://ev", "il.example/reset) now [1]."], "Reset it here now [1]."),
        (["Reset it [here](<https://evil.example/a b>) [1]."], "Reset it here [1]."),
        (["![logo](https://evil.example/x.png) [1]"], "logo [1]"),
        (["[[nested](https://evil.example)](https://hb.test)"], "[nested](https://hb.test)"),
        (["[a [b](https://evil.example) c](https://evil.example/2) [1]"], "a b c [1]"),
        (["Visit ht", "tps://evil.example/x", " now [1]."], "Visit  now [1]."),
        (["Visit HTTPS://EVIL.example/x. [1]"], "Visit . [1]"),
        (["Visit www.evil.example today [1]"], "Visit  today [1]"),
        (["Visit <https://evil.example|here> [1]"], "Visit  [1]"),
        (["Mail <someone@evil.example> [1]"], "Mail  [1]"),
        (["Visit evilhttps://evil.example [1]"], "Visit evil [1]"),
        (["Visit https://evil.example/unfinished"], "Visit "),
    ],
)
def test_the_gate_never_shows_a_link_off_the_sources(pieces: list[str], shown: str) -> None:
    """An off-source link is held back while written and shown without its target: the
    checked answer, which differs, then replaces what was shown."""
    gate = StreamGate(sources=2, hosts={"hb.test"})
    visible = [gate.feed(p) for p in pieces] + [gate.finish()]
    assert "".join(visible) == shown
    assert not any("evil.example" in v.lower() for v in visible)


def test_a_link_to_a_source_waits_for_its_end_then_shows_whole() -> None:
    gate = StreamGate(sources=1, hosts={"hb.test"})
    assert gate.feed("See [the pol") == "See "
    assert gate.feed("icy](https://hb.test/leave") == ""
    assert gate.feed(") now") == "[the policy](https://hb.test/leave) now"
