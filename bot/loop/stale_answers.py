"""Answers that don't go stale: when a section an answer quoted changes, its asker gets one
reply in that answer's thread with the fresh answer to their question.

The fresh answer is written as the original was: from the question (as the answering core
made it standalone), with the asker's scopes then. Where it goes follows the rules of
``notices.py``: in the thread when everyone there may see what it is written from, to the
asker alone when only they may, and without the answer when not even they may now.
"""

from __future__ import annotations

import logging
from typing import Protocol

from bot.core.types import Answer, Question
from bot.loop import change_messages as messages
from bot.loop.answer_records import AnswerRecord, RedisAnswerRecords
from bot.loop.sharing import sources_scopes
from bot.platforms.delivery import AskerReporter
from knowledge.announcements import DocumentChange
from knowledge.errors import KnowledgeError
from knowledge.store import PgDocumentStore
from knowledge.types import PUBLIC_SCOPE, visible
from knowledge.versions import touches

log = logging.getLogger(__name__)


class Answerer(Protocol):
    """The answering core, as far as a fresh answer needs it."""

    async def answer(self, question: Question) -> Answer: ...


class StaleAnswerNotices:
    """Finds the remembered answers a change makes stale and tells their askers."""

    def __init__(
        self,
        records: RedisAnswerRecords,
        answerer: Answerer,
        store: PgDocumentStore,
        reporter: AskerReporter,
    ) -> None:
        self._records = records
        self._answerer = answerer
        self._store = store
        self._reporter = reporter

    async def announce(self, change: DocumentChange) -> int:
        """Tell the askers of answers that quoted a section ``change`` changed or removed;
        returns how many were told. A change to sections nobody's answer quoted tells nobody."""
        if not change.touched:
            return 0
        told = 0
        for answer_id in await self._records.citing(change.document_id):
            record = await self._records.get(answer_id)
            if record is None or record.reply_to is None or not quoted(record.answer, change):
                continue
            if not await self._records.first_told_of_change(answer_id):
                continue
            try:
                await self._tell(record, change)
            except KnowledgeError as e:
                log.warning("answer %s: its asker not told of a change: %s", answer_id, e)
                continue
            told += 1
        return told

    async def _tell(self, record: AnswerRecord, change: DocumentChange) -> None:
        assert record.reply_to is not None
        fresh = await self._answerer.answer(
            Question(
                text=record.answer.standalone_question or record.question,
                scopes=record.scopes,
                asker=record.asker,
                platform=record.reply_to.platform,
                reply_to=record.reply_to,
                private=record.private,
            )
        )
        if fresh.outcome not in ("answered", "not_covered"):
            # No fresh answer now (the model is down, the asker's limit is reached).
            notice = messages.quoted_policy_changed_ask_again(record.question, change.title)
            await self._reporter.report_privately(record.reply_to, notice)
            return
        cited = {c.doc_id for c in fresh.citations}
        sources = [s for s in fresh.sources if s.document_id in cited]
        scopes = (
            await sources_scopes(self._store, sources, unknown=record.scopes)
            if sources
            else (PUBLIC_SCOPE,)
        )
        text = messages.answer_markdown(fresh)
        audience = await self._reporter.audience(record.reply_to)
        if visible(scopes, audience.conversation):
            notice = messages.quoted_policy_changed(record.question, change.title, text)
            await self._reporter.report(record.reply_to, notice)
        elif visible(scopes, audience.person):
            notice = messages.quoted_policy_changed_privately(record.question, change.title, text)
            await self._reporter.report_privately(record.reply_to, notice)
        else:
            notice = messages.quoted_policy_changed_out_of_reach(record.question, change.title)
            await self._reporter.report_privately(record.reply_to, notice)


def quoted(answer: Answer, change: DocumentChange) -> bool:
    """Whether ``answer`` cites a section of the changed document that ``change`` touched."""
    for citation in answer.citations:
        if citation.doc_id != change.document_id:
            continue
        sources = [
            s
            for s in answer.sources
            if s.document_id == citation.doc_id and s.section == citation.section
        ]
        if any(touches(change.touched, s.title, s.heading_path) for s in sources):
            return True
        if not sources and any(n.split(" › ")[-1] == citation.section for n in change.touched):
            return True
    return False
