"""Closing the loop: every decline and every 👎 becomes a gap an admin can answer, every
admin answer becomes a document everyone can be answered from, and every approved answer
becomes training data for the house tone.

``Curator`` is platform-neutral: the core tells it of each answer (``observe``), the chat
adapters tell it of votes, consents and admins' answers, and it tells askers, through the
platforms' reporters, when their question has been answered (``notices.py``). Every example
keeps the scopes of what it was written from, so an export can leave restricted ones out.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.knowledge_base import KnowledgeBase
from bot.core.types import Answer, Question
from bot.loop import messages
from bot.loop.answer_records import AnswerRecord, RedisAnswerRecords
from bot.loop.examples import PgExampleStore
from bot.loop.gaps import Gap, NewGap, PgGapQueue, Reason
from bot.loop.notices import tell_askers
from bot.loop.sharing import shareable, sources_scopes
from bot.platforms.delivery import AskerReporter
from knowledge.chunking import chunk_document
from knowledge.errors import KnowledgeError
from knowledge.types import PUBLIC_SCOPE, Document, Query, Section

log = logging.getLogger(__name__)

CANONICAL_ANSWER_PREFIX = "supportbot:answers/"
CANONICAL_ANSWER_FORMAT = "answer"
_MARKER = re.compile(r"\s*\[\d+\]")


@dataclass(frozen=True)
class AdminAnswer:
    """What an admin submits for a gap: the answer (Markdown), who they are as they should
    appear as the document's owner, who may see it, and optionally a clearer question."""

    text: str
    admin: str
    scopes: tuple[str, ...]
    question: str = ""


class Curator:
    def __init__(
        self,
        *,
        kb: KnowledgeBase,
        records: RedisAnswerRecords,
        gaps: PgGapQueue,
        examples: PgExampleStore,
        reporter: AskerReporter,
        top_k: int = 4,
    ) -> None:
        self._kb = kb
        self._records = records
        self._gaps = gaps
        self._examples = examples
        self._reporter = reporter
        self._top_k = top_k

    # What employees do

    async def observe(self, question: Question, answer: Answer) -> None:
        """Remember each answer for a while; queue a declined question as a gap, and one
        answered with quotes that may not answer it."""
        if answer.outcome not in ("answered", "not_covered"):
            return
        record = AnswerRecord(
            question=question.text.strip(),
            scopes=question.scopes,
            asker=question.asker,
            reply_to=question.reply_to,
            answer=answer,
            private=question.private,
        )
        await self._records.put(record)
        if answer.outcome == "not_covered":
            await self._queue("declined", record)
        elif answer.unsure:
            await self._queue("unsure", record)

    async def vote(self, answer_id: str, vote: int, *, voter: str) -> bool:
        """Keep a voted answer as a possible training example; queue a 👎 as a gap.

        Returns whether the voter asked the question and it is now waiting for an admin (so
        they may be asked whether admins may contact them).
        """
        record = await self._records.get(answer_id)
        if record is None:
            log.info("vote on answer %s, which is no longer remembered", answer_id)
            return False
        answer = record.answer
        if answer.outcome == "answered":
            try:
                await self._examples.keep_voted(
                    answer_id=answer.id,
                    question=record.question,
                    sources=answer.sources,
                    answer=answer.text,
                    model=answer.model,
                    scopes=await sources_scopes(
                        self._kb.store, answer.sources, unknown=record.scopes
                    ),
                )
            except KnowledgeError as e:
                log.warning("answer %s not kept as an example: %s", answer.id, e)
        if vote >= 0:
            return False
        queued = await self._queue("downvoted", record)
        return queued is not None and record.asker == voter

    async def allow_contact(self, answer_id: str, *, asker: str, contact: str) -> bool:
        """Let admins see ``contact`` on the question's gap if ``asker`` asked it; False when
        it is not queued or was asked by someone else. Raises ``DatabaseUnavailableError``."""
        return await self._gaps.allow_contact(answer_id, asker=asker, contact=contact)

    async def _queue(self, reason: Reason, record: AnswerRecord) -> int | None:
        answer = record.answer
        try:
            return await self._gaps.add(
                NewGap(
                    reason=reason,
                    question=record.question,
                    answer_id=answer.id,
                    scopes=record.scopes,
                    sources=answer.sources,
                    bot_answer=answer.text if answer.outcome == "answered" else None,
                    asker=record.asker,
                    reply_to=record.reply_to,
                    embedding=await self._embedding(answer.standalone_question or record.question),
                    private=record.private,
                )
            )
        except KnowledgeError as e:
            log.warning("answer %s not queued as a gap: %s", answer.id, e)
            return None

    async def _embedding(self, question: str) -> list[float] | None:
        try:
            return [float(x) for x in (await self._kb.embedder.embed([question]))[0]]
        except KnowledgeError as e:
            log.warning("gap question not embedded, so not grouped: %s", e)
            return None

    # What admins do

    async def open_gaps(
        self, limit: int, *, offset: int = 0, reason: Reason | None = None
    ) -> tuple[list[Gap], int]:
        """Raises ``DatabaseUnavailableError``."""
        return await self._gaps.open_gaps(limit, offset=offset, reason=reason)

    async def wordings(self, gap_ids: Sequence[int], per_gap: int) -> dict[int, tuple[str, ...]]:
        """How askers worded each gap's question (see ``PgGapQueue.wordings``)."""
        return await self._gaps.wordings(gap_ids, per_gap)

    async def gap(self, gap_id: int) -> Gap | None:
        return await self._gaps.get(gap_id)

    async def remembered(self, answer_id: str) -> AnswerRecord | None:
        """The question and answer behind ``answer_id``, while they are remembered."""
        return await self._records.get(answer_id)

    async def answer_gap(self, gap_id: int, answer: AdminAnswer) -> str:
        """Store the admin's answer as a document, close the gap and tell its askers.

        Returns the Markdown reply for the admin; never raises for a failing dependency.
        """
        try:
            gap = await self._gaps.get(gap_id)
            if gap is None:
                return messages.gap_not_found(gap_id)
            question = answer.question.strip() or gap.question
            scopes = answer.scopes or default_scopes(gap.scopes)
            document = Document(
                title=question,
                url=f"{CANONICAL_ANSWER_PREFIX}{gap_id}",
                source=f"{CANONICAL_ANSWER_PREFIX}{gap_id}",
                format=CANONICAL_ANSWER_FORMAT,
                sections=(Section((), answer.text.strip()),),
                owner=answer.admin,
                scopes=scopes,
            )
            result = await self._kb.store.upsert(
                document, chunk_document(document, self._kb.chunking)
            )
            askers = await self._gaps.resolve(
                gap_id, answered_by=answer.admin, document_id=result.document_id
            )
            await self._keep_example(gap_id, question, answer.text, scopes, result.document_id)
        except KnowledgeError as e:
            log.warning("answering gap %s failed: %s", gap_id, e)
            return messages.failed(str(e))
        told = await tell_askers(
            self._reporter,
            askers,
            answer=answer.text.strip(),
            scopes=scopes,
            improved=gap.reason != "declined",
        )
        return messages.gap_answered(gap_id, question, scopes, told=told)

    async def improve(self, answer_id: str, answer: AdminAnswer) -> str:
        """Replace the bot's answer ``answer_id`` with the admin's, as for a gap."""
        record = await self._records.get(answer_id)
        try:
            gap_id = await self._gaps.gap_of_answer(answer_id)
        except KnowledgeError as e:
            return messages.failed(str(e))
        if gap_id is None:
            if record is None:
                return messages.answer_forgotten()
            gap_id = await self._queue("improve", record)
            if gap_id is None:
                return messages.failed(messages.gap_not_saved())
        return await self.answer_gap(gap_id, answer)

    async def _keep_example(
        self, gap_id: int, question: str, text: str, scopes: tuple[str, ...], document_id: str
    ) -> None:
        """Keep the admin's answer as a training example, citing its own document as the
        model would have seen it among the sources retrieved for the question."""
        sources = await self._kb.retriever.search(Query(question, self._top_k, scopes))
        position = next((n for n, s in enumerate(sources, 1) if s.document_id == document_id), 0)
        if not position:
            log.warning("gap %s: its answer is not among the sources found for it", gap_id)
            return
        await self._examples.keep_admin(
            gap_id=gap_id,
            question=question,
            sources=sources,
            answer=cite(text, position),
            scopes=await sources_scopes(self._kb.store, sources, unknown=scopes, chosen=scopes),
        )

    async def shareable(
        self, record: AnswerRecord | None, *, asked_with: Sequence[str], audience: Sequence[str]
    ) -> bool:
        """Whether ``audience`` (an escalation channel's scopes) may see what the answer of
        ``record`` cites (see ``sharing.shareable``). Raises ``DatabaseUnavailableError``."""
        return await shareable(self._kb.store, record, asked_with=asked_with, audience=audience)


def cite(text: str, n: int) -> str:
    """``text`` with a ``[n]`` marker closing each paragraph, as the house style cites."""
    paragraphs = [p.rstrip() for p in text.strip().split("\n\n") if p.strip()]
    return "\n\n".join(p if p.endswith(f"[{n}]") else f"{p} [{n}]" for p in paragraphs)


def default_scopes(asker_scopes: tuple[str, ...]) -> tuple[str, ...]:
    """Who should see an answer to a question asked with ``asker_scopes``: the asker's
    restricted scopes when they had any (the cautious choice), else everyone."""
    restricted = tuple(s for s in asker_scopes if s != PUBLIC_SCOPE)
    return restricted or (PUBLIC_SCOPE,)


def without_markers(text: str) -> str:
    """An answer without its ``[n]`` citation markers (they mean nothing outside it)."""
    return _MARKER.sub("", text).strip()
