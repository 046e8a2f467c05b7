"""Answers that don't go stale, on a real Postgres and Redis with the offline writer: a change
to a quoted section tells the asker once, in their thread, with the fresh answer; a change
nobody's answer quoted tells nobody; replicas racing for a change announce it once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from bot.core.answering import AnswerService
from bot.core.cache import RedisAnswerCache, redis_client
from bot.core.knowledge_base import KnowledgeBase
from bot.core.prompts import Prompts
from bot.core.types import Question, ReplyTo
from bot.loop.answer_records import RedisAnswerRecords
from bot.loop.curation import Curator
from bot.loop.examples import PgExampleStore
from bot.loop.gaps import PgGapQueue
from bot.loop.stale_answers import StaleAnswerNotices
from bot.platforms.delivery import Audience
from bot.service.change_watch import ChangeWatch
from bot.service.settings import Settings
from bot.service.wiring import build_answer_service, open_knowledge_base
from knowledge.announcements import PgChangeClaims
from knowledge.chunking import chunk_document
from knowledge.database import create_engine
from knowledge.types import Document
from tests.documents import policy
from tests.environment import core_environment
from tests.fake_openai import FakeOpenAI
from tests.test_gaps import RecordingAskers

SECTIONS = {
    "Annual leave": "Everyone gets 25 days of annual leave plus public holidays.",
    "Bicycle storage": "Bicycles go in the basement cage; the code is at reception.",
    "Parking": "Visitor parking spaces are behind building B.",
}


def _thread(channel: str) -> ReplyTo:
    return ReplyTo("slack", {"channel": channel, "thread_ts": "1.0", "user": "U" + channel})


@dataclass
class Bot:
    kb: KnowledgeBase
    settings: Settings
    records: RedisAnswerRecords
    service: AnswerService
    reporter: RecordingAskers

    def watch(self, claims: PgChangeClaims | None = None) -> ChangeWatch:
        notices = StaleAnswerNotices(self.records, self.service, self.kb.store, self.reporter)
        return ChangeWatch(claims or PgChangeClaims(self.kb.engine), [notices], 1.0)

    async def ask(self, text: str, where: ReplyTo, scopes: tuple[str, ...] = ("public",)) -> str:
        question = Question(text, scopes, asker="h-" + where.address["channel"], reply_to=where)
        answer = await self.service.answer(question)
        assert answer.grounded, answer.text
        return answer.id

    async def store(self, document: Document) -> None:
        await self.kb.store.upsert(document, chunk_document(document))


@pytest.fixture
async def bot(database_url: str, redis_url: str) -> AsyncIterator[Bot]:
    env = core_environment(database_url=database_url, redis_url=redis_url)
    settings = Settings.from_env(env)
    client = redis_client(redis_url)
    async with open_knowledge_base(settings) as kb:
        records = RedisAnswerRecords(client, settings.redis_namespace, 3600)
        reporter = RecordingAskers(
            {"CHR": Audience(("public",), ("hr", "public")), "COUT": Audience()}
        )
        curator = Curator(
            kb=kb,
            records=records,
            gaps=PgGapQueue(kb.engine),
            examples=PgExampleStore(kb.engine),
            reporter=reporter,
        )
        cache = RedisAnswerCache(client, 60, settings.redis_namespace)
        prompts = Prompts.load(settings.style_file)
        service = build_answer_service(settings, kb, prompts, cache, observer=curator)
        yield Bot(kb, settings, records, service, reporter)
    await client.aclose()


async def test_a_change_to_a_quoted_section_tells_its_asker_once_with_the_fresh_answer(
    bot: Bot,
) -> None:
    await bot.store(policy(sections=SECTIONS))
    await bot.watch().announce_pending()  # the first version: nothing was quoted yet
    await bot.ask("How many days of annual leave do I get?", _thread("C1"))
    await bot.ask("Where do bicycles go? Basement cage?", _thread("C2"))

    # A change to a section nobody's answer quoted tells nobody.
    await bot.store(policy(sections={**SECTIONS, "Parking": "Visitors park behind B and C."}))
    assert await bot.watch().announce_pending() == 1
    assert bot.reporter.reports == [] and bot.reporter.private == []

    # A changed quoted section: one reply, in the asker's thread, from the current text.
    changed = {**SECTIONS, "Parking": "Visitors park behind B and C."}
    changed["Annual leave"] = "Everyone gets 30 days of annual leave plus public holidays."
    await bot.store(policy(sections=changed))
    assert await bot.watch().announce_pending() == 1
    [(where, notice)] = bot.reporter.reports
    assert where == _thread("C1")
    assert "has changed" in notice and "30 days" in notice and "25 days" not in notice
    assert "days of annual leave do I get?”" in notice and "Sources:" in notice
    assert await bot.watch().announce_pending() == 0  # nothing left: told once

    # The fresh answer is remembered too: the next change to its section is told again,
    # and removing the quoted section counts as a change.
    del changed["Annual leave"]
    await bot.store(policy(sections=changed))
    assert await bot.watch().announce_pending() == 1
    assert [w for w, _ in bot.reporter.reports] == [_thread("C1"), _thread("C1")]


async def test_two_replicas_announce_a_change_once(bot: Bot, database_url: str) -> None:
    await bot.store(policy(sections=SECTIONS))
    await bot.watch().announce_pending()
    for n in range(3):
        await bot.ask("How many days of annual leave do I get?", _thread(f"C{n}"))
    await bot.store(policy(sections={**SECTIONS, "Annual leave": "Everyone gets 30 days."}))

    other_engine = create_engine(database_url)
    try:
        counts = await asyncio.gather(
            bot.watch().announce_pending(),
            bot.watch(PgChangeClaims(other_engine)).announce_pending(),
        )
    finally:
        await other_engine.dispose()
    assert sorted(counts) == [0, 1]
    assert sorted(str(w.address["channel"]) for w, _ in bot.reporter.reports) == [
        "C0", "C1", "C2"
    ]  # fmt: skip


async def test_the_fresh_answer_goes_only_where_it_may_be_shown(bot: Bot) -> None:
    hr = policy(url="https://handbook.test/hr", title="HR Handbook", scopes=("hr",),
                sections={"Bonus": "The yearly bonus is paid in March."})  # fmt: skip
    await bot.store(hr)
    await bot.watch().announce_pending()
    await bot.ask("When is the yearly bonus paid?", _thread("CHR"), scopes=("hr", "public"))
    await bot.ask("When is the yearly bonus paid? [x](https://evil.example)", _thread("COUT"),
                  scopes=("hr", "public"))  # fmt: skip
    bot.reporter.audiences["COUT"] = Audience()  # since asked: no longer in hr

    await bot.store(_with_sections(hr, {"Bonus": "The yearly bonus is paid in April."}))
    assert await bot.watch().announce_pending() == 1
    assert bot.reporter.reports == []
    private = dict((str(w.address["channel"]), text) for w, text in bot.reporter.private)
    assert "April" in private["CHR"] and "just for you" in private["CHR"]
    assert "April" not in private["COUT"] and "can't show you" in private["COUT"]
    assert r"\[x\](https://evil.example)" in private["COUT"]


def _with_sections(document: Document, sections: dict[str, str]) -> Document:
    return policy(url=document.url, title=document.title, scopes=document.scopes,
                  sections=sections)  # fmt: skip


async def test_without_a_fresh_answer_the_asker_is_told_to_ask_again(
    bot: Bot, database_url: str, redis_url: str, llm: FakeOpenAI
) -> None:
    await bot.store(policy(sections=SECTIONS))
    await bot.watch().announce_pending()
    await bot.ask("How many days of annual leave do I get?", _thread("C1"))
    env = core_environment(database_url=database_url, redis_url=redis_url,
                           OPENAI_BASE_URL=llm.base_url, SUPPORTBOT_CHAT_MODEL="gpt-test",
                           SUPPORTBOT_LLM_MAX_RETRIES="0")  # fmt: skip
    failing = build_answer_service(
        Settings.from_env(env), bot.kb, Prompts.load(None), RedisAnswerCache(
            redis_client(redis_url), 60, bot.settings.redis_namespace
        ),
    )  # fmt: skip
    llm.default = lambda _body: 500
    notices = StaleAnswerNotices(bot.records, failing, bot.kb.store, bot.reporter)
    await bot.store(policy(sections={**SECTIONS, "Annual leave": "Everyone gets 30 days."}))
    assert await ChangeWatch(PgChangeClaims(bot.kb.engine), [notices], 1.0).announce_pending() == 1
    assert bot.reporter.reports == [] and llm.requests
    [(where, notice)] = bot.reporter.private
    assert where == _thread("C1") and "Please ask me again" in notice and "30 days" not in notice
