"""The gap queue and the curator on a real Postgres and Redis: grouping similar questions,
one entry per answer, askers told once, approved answers, and outages that never cost an
employee their answer."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.cache import redis_client
from bot.core.knowledge_base import KnowledgeBase
from bot.core.types import Answer, Question, ReplyTo
from bot.loop.answer_records import RedisAnswerRecords
from bot.loop.curation import AdminAnswer, Curator
from bot.loop.examples import PgExampleStore
from bot.loop.feedback import Feedback, PgFeedbackStore
from bot.loop.gaps import GapAsker, NewGap, PgGapQueue
from bot.loop.notices import tell_askers
from bot.platforms.delivery import Audience
from bot.service.settings import Settings
from bot.service.wiring import open_knowledge_base
from knowledge.chunking import chunk_document
from knowledge.database import create_engine
from knowledge.embedders import HashingEmbedder
from knowledge.types import ScoredChunk
from tests.documents import policy
from tests.environment import core_environment
from tests.test_jobs import RecordingReporter

THREAD = ReplyTo("slack", {"channel": "C1", "thread_ts": "1.0"})


class RecordingAskers(RecordingReporter):
    """Records what askers are told, in their thread or privately; ``audiences`` says who
    reads at each thread (by channel), everyone seeing only ``public`` elsewhere."""

    def __init__(self, audiences: dict[str, Audience] | None = None) -> None:
        super().__init__()
        self.audiences = audiences or {}
        self.private: list[tuple[ReplyTo, str]] = []

    async def audience(self, reply_to: ReplyTo) -> Audience:
        return self.audiences.get(str(reply_to.address.get("channel")), Audience())

    async def report_privately(self, reply_to: ReplyTo, markdown: str) -> None:
        self.private.append((reply_to, markdown))


def _gap(question: str, answer_id: str, embedding: list[float] | None) -> NewGap:
    return NewGap(
        reason="declined", question=question, answer_id=answer_id, scopes=("public",),
        sources=(), bot_answer=None, asker="h-" + answer_id, reply_to=THREAD,
        embedding=embedding,
    )  # fmt: skip


async def _vector(text: str) -> list[float]:
    return [float(x) for x in (await HashingEmbedder(384).embed([text]))[0]]


async def test_similar_questions_share_a_gap_and_different_ones_do_not(
    engine: AsyncEngine,
) -> None:
    queue = PgGapQueue(engine, similar=0.85)
    dog = await queue.add(_gap("Can I bring my dog?", "a1", await _vector("Can I bring my dog?")))
    same = await queue.add(_gap("can i bring my dog", "a2", await _vector("can i bring my dog")))
    other = await queue.add(
        _gap("Who approves travel?", "a3", await _vector("Who approves travel?"))
    )
    again = await queue.add(_gap("Can I bring my dog?", "a1", None))  # the same answer, voted on
    assert dog == same == again != other
    gaps, total = await queue.open_gaps(10)
    assert total == 2
    assert [(g.question, g.times_asked) for g in gaps] == [
        ("Can I bring my dog?", 2),
        ("Who approves travel?", 1),
    ]
    assert gaps[0].contacts == ()

    # Consent is the asker's alone; resolving tells each asker once.
    assert not await queue.allow_contact("a2", asker="h-someone-else", contact="<@U2>")
    assert await queue.allow_contact("a2", asker="h-a2", contact="<@U2>")
    assert (await queue.get(dog)).contacts == ("<@U2>",)  # type: ignore[union-attr]
    told = await queue.resolve(dog, answered_by="<@UADMIN>", document_id="d1")
    # Each asker with their own wording, to be quoted to them alone.
    assert sorted(told, key=lambda a: a.question) == [
        GapAsker(THREAD, "Can I bring my dog?"),
        GapAsker(THREAD, "can i bring my dog"),
    ]
    assert await queue.resolve(dog, answered_by="<@UADMIN>", document_id="d1") == []
    assert (await queue.open_gaps(10))[1] == 1


async def test_only_questions_asked_with_the_same_scopes_and_privacy_share_a_gap(
    engine: AsyncEngine,
) -> None:
    queue = PgGapQueue(engine, similar=0.85)
    vector = await _vector("Can I bring my dog?")
    public = await queue.add(_gap("Can I bring my dog?", "p1", vector))
    hr = await queue.add(
        dataclasses.replace(_gap("Can I bring my dog?", "h1", vector), scopes=("hr", "public"))
    )
    wider = await queue.add(
        dataclasses.replace(
            _gap("Can I bring my dog?", "w1", vector), scopes=("finance", "hr", "public")
        )
    )
    dm = await queue.add(
        dataclasses.replace(_gap("can I bring my dog", "d1", vector), private=True)
    )
    dm_again = await queue.add(
        dataclasses.replace(_gap("Can I bring my dog??", "d2", vector), private=True)
    )
    public_again = await queue.add(_gap("can i bring my dog", "p2", vector))
    assert len({public, hr, wider, dm}) == 4
    assert (dm_again, public_again) == (dm, public)
    shown = {g.id: g for g in (await queue.open_gaps(10))[0]}
    assert shown[dm].private and not shown[public].private
    assert shown[public].question == "Can I bring my dog?"
    assert shown[dm].question == "can I bring my dog"  # a DM's words stay on the DM's gap


async def test_each_asker_is_told_only_what_may_be_shown_where_they_read() -> None:
    def thread(channel: str) -> ReplyTo:
        return ReplyTo("slack", {"channel": channel, "thread_ts": "1.0", "user": "U" + channel})

    everyone, hr_member, outsider = thread("CHR"), thread("CGENERAL"), thread("CRANDOM")
    reporter = RecordingAskers(
        {
            "CHR": Audience(("hr", "public"), ("public",)),
            "CGENERAL": Audience(("public",), ("hr", "public")),
            "CRANDOM": Audience(("public",), ("public",)),
        }
    )
    told = await tell_askers(
        reporter,
        [
            GapAsker(everyone, "Dogs in the HR office?"),
            GapAsker(hr_member, "Can my [dog](https://evil.example) come? <!channel>"),
            GapAsker(outsider, ""),  # queued before askers' wording was kept
        ],
        answer="Yes, on Fridays.",
        scopes=("hr",),
        improved=False,
    )
    assert told == 3
    [(where, notice)] = reporter.reports
    assert where == everyone and "“Dogs in the HR office?”" in notice and "Fridays" in notice
    [(first, privately), (second, refused)] = reporter.private
    assert first == hr_member and "Fridays" in privately and "Dogs" not in privately
    # The asker's own words, as literal Markdown: no link, no mention.
    assert r"\[dog\](https://evil.example)" in privately and "&lt;!channel&gt;" in privately
    assert second == outsider and "Fridays" not in refused and "only some teams" in refused


@pytest.fixture
async def kb(database_url: str, redis_url: str) -> AsyncIterator[KnowledgeBase]:
    settings = Settings.from_env(core_environment(database_url=database_url, redis_url=redis_url))
    async with open_knowledge_base(settings) as kb:
        yield kb


def _curator(kb: KnowledgeBase, redis_url: str, engine: AsyncEngine | None = None) -> Curator:
    engine = engine or kb.engine
    return Curator(
        kb=kb,
        records=RedisAnswerRecords(redis_client(redis_url), "test-gaps", 3600),
        gaps=PgGapQueue(engine),
        examples=PgExampleStore(engine),
        reporter=RecordingAskers(),
    )


def _answer(answer_id: str, outcome: str = "answered") -> Answer:
    source = ScoredChunk(
        chunk_id="c1", document_id="d1", title="Leave Policy", section="Annual leave",
        heading_path=("Leave Policy", "Annual leave"), url="https://hb.test/leave#annual-leave",
        text="Everyone gets 25 days.", score=1.0, similarity=0.8,
    )  # fmt: skip
    grounded = outcome == "answered"
    return Answer(
        id=answer_id,
        text="You get 25 days [1]." if grounded else "I couldn't find this.",
        citations=(),
        grounded=grounded,
        outcome=outcome,  # type: ignore[arg-type]
        model="m",
        sources=(source,),
    )


async def test_only_net_positive_votes_and_admin_answers_are_approved(
    kb: KnowledgeBase, redis_url: str
) -> None:
    curator = _curator(kb, redis_url)
    feedback = PgFeedbackStore(kb.engine)
    for answer_id, votes in (("liked", [1]), ("mixed", [1, -1]), ("disliked", [-1])):
        await curator.observe(Question("How much leave?", asker="h-asker"), _answer(answer_id))
        for n, vote in enumerate(votes):
            await feedback.record(Feedback(answer_id, vote, f"voter{n}", "slack"))  # type: ignore[arg-type]
            assert await curator.vote(answer_id, vote, voter=f"voter{n}") is False
    approved = await PgExampleStore(kb.engine).approved()
    assert [(a.kind, a.answer) for a in approved] == [("voted", "You get 25 days [1].")]
    assert approved[0].sources[0].heading_path == ("Leave Policy", "Annual leave")
    gaps, _ = await curator.open_gaps(10)
    assert [g.reason for g in gaps] == ["downvoted"]  # mixed and disliked: one question
    assert gaps[0].times_asked == 2 and gaps[0].bot_answer == "You get 25 days [1]."
    # The asker's own 👎 invites them to agree to be contacted.
    await curator.observe(Question("Who signs expenses?", asker="h-me"), _answer("mine"))
    assert await curator.vote("mine", -1, voter="h-me") is True


async def test_declined_questions_and_those_answered_unsure_wait_for_an_admin(
    kb: KnowledgeBase, redis_url: str
) -> None:
    curator = _curator(kb, redis_url)
    await curator.observe(Question("How much leave?", asker="h-1"), _answer("sure"))
    unsure = dataclasses.replace(_answer("unsure"), unsure=True)
    await curator.observe(Question("Wifi password in Lisbon?", asker="h-2"), unsure)
    await curator.observe(Question("Company car?", asker="h-3"), _answer("no", "not_covered"))
    gaps, total = await curator.open_gaps(10)
    assert total == 2
    by_reason = {g.reason: g for g in gaps}
    assert set(by_reason) == {"unsure", "declined"}
    assert by_reason["unsure"].question == "Wifi password in Lisbon?"
    assert by_reason["unsure"].bot_answer == "You get 25 days [1]."  # what the asker was shown
    assert by_reason["declined"].bot_answer is None


async def test_an_example_keeps_the_scopes_of_the_documents_it_was_written_from(
    kb: KnowledgeBase, redis_url: str
) -> None:
    salaries = policy(
        url="https://hb.test/salaries", title="Salary Bands",
        sections={"Reviews": "Salary bands are reviewed every April."}, scopes=("hr",),
    )  # fmt: skip
    stored = await kb.store.upsert(salaries, chunk_document(salaries))
    curator = _curator(kb, redis_url)
    feedback = PgFeedbackStore(kb.engine)
    for answer_id, document_id, scopes in (
        ("from-hr", stored.document_id, ("hr", "public")),
        ("from-a-removed-document", "removed", ("finance", "public")),
    ):
        answer = _answer(answer_id)
        source = dataclasses.replace(answer.sources[0], document_id=document_id)
        asked = Question(answer_id, scopes=scopes, asker="h-asker")
        await curator.observe(asked, dataclasses.replace(answer, sources=(source,)))
        await feedback.record(Feedback(answer_id, 1, "voter", "slack"))
        await curator.vote(answer_id, 1, voter="voter")
    approved = {a.question: a.scopes for a in await PgExampleStore(kb.engine).approved()}
    # Unknown now: what the asker could see, all of which the document might have been.
    assert approved == {"from-hr": ("hr",), "from-a-removed-document": ("finance", "public")}


async def test_a_database_outage_never_costs_the_asker_their_answer(
    kb: KnowledgeBase, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    dead = create_engine("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1")
    try:
        curator = _curator(kb, redis_url, dead)
        with caplog.at_level(logging.WARNING):
            await curator.observe(Question("Dogs?"), _answer("d1", "not_covered"))
            assert await curator.vote("d1", -1, voter="x") is False
        assert "not queued as a gap" in caplog.text
        reply = await curator.answer_gap(1, AdminAnswer("Yes.", "<@UADMIN>", ("public",)))
        assert "cannot use the database" in reply
        assert "\n" not in reply
    finally:
        await dead.dispose()
