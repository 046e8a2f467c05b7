"""The summary of a change in its announcement, from the loopback OpenAI-compatible fake through
the real client: the model sees the old and new text of what changed, says it in two
sentences, and an announcement goes out without it when the model fails."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.llm import OpenAIChatModel
from bot.core.types import ReplyTo
from bot.loop.announcements import ChangeAnnouncer
from bot.loop.change_summary import ChangeSummarizer
from bot.loop.subscriptions import PgSubscriptions, Subscription
from bot.service.change_watch import ChangeWatch
from knowledge.announcements import PgChangeClaims
from knowledge.chunking import chunk_document
from knowledge.store import PgDocumentStore
from tests.documents import policy
from tests.fake_openai import FakeOpenAI
from tests.test_gaps import RecordingAskers

NEWS = ReplyTo("slack", {"channel": "CNEWS", "user": "UADMIN", "private": False})
SUMMARY = "Annual leave is now 30 days instead of 25. Sick leave is unchanged."


def _watch(engine: AsyncEngine, llm: FakeOpenAI, reporter: RecordingAskers) -> ChangeWatch:
    chat = OpenAIChatModel("gpt-test", api_key=None, base_url=llm.base_url, max_retries=0)
    announcer = ChangeAnnouncer(PgSubscriptions(engine), reporter, ChangeSummarizer(chat))
    return ChangeWatch(PgChangeClaims(engine), [announcer], 1.0)


async def test_an_announcement_summarises_the_difference_or_goes_without(
    engine: AsyncEngine, store: PgDocumentStore, llm: FakeOpenAI
) -> None:
    reporter = RecordingAskers()
    watch = _watch(engine, llm, reporter)
    leave = policy()
    await store.upsert(leave, chunk_document(leave))
    assert await watch.announce_pending() == 1
    assert llm.requests == []  # nobody subscribed: the model is not asked

    await PgSubscriptions(engine).subscribe(Subscription("slack", "CNEWS", NEWS))
    longer = policy(sections={
        "Annual leave": "Everyone gets 30 days of annual leave plus public holidays.",
        "Sick leave": "Tell your manager before 10am on the first day you are ill.",
    })  # fmt: skip
    llm.script = [f"{SUMMARY}\n"]
    await store.upsert(longer, chunk_document(longer))
    assert await watch.announce_pending() == 1
    [(where, text)] = reporter.reports
    assert where == NEWS and text.endswith(SUMMARY)
    [prompt] = llm.user_prompts()
    assert "Section: Leave Policy › Annual leave" in prompt and "Sick leave" not in prompt
    assert "Before: Everyone gets 25 days" in prompt and "After: Everyone gets 30 days" in prompt

    llm.script = [500]
    await store.upsert(policy(), chunk_document(policy()))
    assert await watch.announce_pending() == 1
    assert len(reporter.reports) == 2
    assert "Changed: Leave Policy › Annual leave" in reporter.reports[1][1]
    assert SUMMARY not in reporter.reports[1][1]
