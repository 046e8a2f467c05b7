"""The answering core: a question in, an answer with trustworthy citations out.

``AnswerService.answer`` is the whole flow, top to bottom:
question → within the asker's limits? → in a language we can search? → standalone question →
cache → retrieval → good enough? → write → check citations → cache → answer, linking only to
its sources' hosts.
``AnswerService.stream`` is the same flow as events (``bot/core/answer_events.py``): status
lines while it searches and writes, the draft as the model writes it, then the final answer.
Adapters (Slack, Teams, the terminal) call either and only translate.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from bot.core import messages
from bot.core.answer_events import AnswerEvent, EventQueue, stream_draft
from bot.core.answer_log import PgAnswerLog, question_hash
from bot.core.cache import AnswerCache, cache_key
from bot.core.citations import resolve_citations
from bot.core.coverage import CoverageDecision, MinimumSimilarity, coverage_signals
from bot.core.language import ENGLISH_ONLY, SearchLanguages, detect_language
from bot.core.links import restrict_links
from bot.core.llm import LLMUnavailableError
from bot.core.rate_limit import RateLimiter
from bot.core.types import Answer, Outcome, Question, Usage
from bot.core.writers import OFFLINE_MODEL, AnswerWriter
from bot.service.metrics import Metrics
from knowledge.errors import KnowledgeError
from knowledge.retrieval import PgHybridRetriever
from knowledge.store import PgDocumentStore
from knowledge.types import PUBLIC_SCOPE, Query, ScoredChunk

log = logging.getLogger(__name__)


class AnswerObserver(Protocol):
    """Told of every answer after it is written (to remember it, or queue it as a gap)."""

    async def observe(self, question: Question, answer: Answer) -> None:
        """Must not raise: a failure here is logged and never costs the asker the answer."""
        ...


@dataclass(frozen=True)
class AnsweringOptions:
    """``coverage`` decides whether the sources answer the question before a model is asked;
    ``languages`` are those the embedding model can search (others are declined politely);
    ``hash_key`` keys the question hashes in the logs (a random key when none is given)."""

    top_k: int = 4
    coverage: CoverageDecision = MinimumSimilarity(0.35)  # noqa: RUF009 (frozen, so shared safely)
    contact: str = "your manager or the People Team"
    max_question_chars: int = 2000
    prompt_version: str = ""
    languages: SearchLanguages = ENGLISH_ONLY
    hash_key: bytes | None = None


class AnswerService:
    def __init__(
        self,
        *,
        retriever: PgHybridRetriever,
        store: PgDocumentStore,
        writer: AnswerWriter,
        cache: AnswerCache,
        answer_log: PgAnswerLog,
        options: AnsweringOptions,
        metrics: Metrics | None = None,
        observer: AnswerObserver | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._retriever = retriever
        self._store = store
        self._writer = writer
        self._cache = cache
        self._log = answer_log
        self._options = options
        self._metrics = metrics or Metrics()
        self._observer = observer
        self._limiter = limiter
        self._hash_key = options.hash_key or secrets.token_bytes(32)

    async def standalone(self, question: Question) -> str:
        """What the answer flow would search for: a follow-up made standalone, a new question
        as it was asked. Raises what the writer raises (the evaluation wants to know)."""
        text, _ = await self._writer.standalone(question)
        return text

    async def answer(self, question: Question) -> Answer:
        """Answer ``question``; never raises for bad input or a failing dependency."""
        return await self._run(question, None)

    def stream(self, question: Question) -> AsyncIterator[AnswerEvent]:
        """Answer ``question`` as events, ending with one ``Final``; never raises for bad input
        or a failing dependency (a model failing mid-answer ends in the apology)."""
        events = EventQueue()
        return events.drain(asyncio.create_task(self._run(question, events)))

    async def _run(self, question: Question, events: EventQueue | None) -> Answer:
        started = time.perf_counter()
        answer_id = uuid.uuid4().hex[:16]
        hashed = question_hash(question.text, self._hash_key)
        scopes = tuple(sorted({PUBLIC_SCOPE, *question.scopes}))
        version: int | None = None
        self._metrics.answers_in_flight.inc()
        try:
            answer, version = await self._answer(answer_id, question, scopes, events)
        except LLMUnavailableError as e:
            log.warning("answer %s: the model is unavailable: %s", answer_id, e)
            self._metrics.llm_errors.inc()
            answer = self._refusal(answer_id, "unavailable", messages.unavailable(answer_id))
        except KnowledgeError as e:
            log.warning("answer %s: the knowledge base is unavailable: %s", answer_id, e)
            answer = self._refusal(answer_id, "unavailable", messages.unavailable(answer_id))
        finally:
            self._metrics.answers_in_flight.dec()
        if answer.degraded:
            self._metrics.llm_errors.inc()
        if answer.outcome == "answered":
            # Also for cached answers: whatever was stored, no answer links off its sources.
            answer = dataclasses.replace(answer, text=restrict_links(answer.text, answer.citations))
        answer = dataclasses.replace(answer, latency_ms=(time.perf_counter() - started) * 1000)
        self._metrics.observe_answer(question.platform, answer)
        log.info(
            "answer %s question=%s outcome=%s grounded=%s cached=%s degraded=%s citations=%d "
            "ms=%.0f",
            answer.id, hashed, answer.outcome, answer.grounded, answer.cached, answer.degraded,
            len(answer.citations), answer.latency_ms,
        )  # fmt: skip
        await self._log.record(
            answer,
            question_hash=hashed,
            asker=question.asker,
            corpus_version=version,
            platform=question.platform,
        )
        if self._observer is not None:
            await self._observer.observe(dataclasses.replace(question, scopes=scopes), answer)
        if events is not None:
            events.final(answer)
        return answer

    async def _answer(
        self,
        answer_id: str,
        question: Question,
        scopes: tuple[str, ...],
        events: EventQueue | None,
    ) -> tuple[Answer, int | None]:
        text = question.text.strip()
        if not text:
            return self._refusal(answer_id, "invalid", messages.empty_question()), None
        if len(text) > self._options.max_question_chars:
            limit = self._options.max_question_chars
            return self._refusal(answer_id, "invalid", messages.question_too_long(limit)), None
        if self._limiter is not None and question.asker is not None:
            reached = await self._limiter.admit(question.asker)
            if reached is not None:  # before the model and the search: it costs neither
                text = messages.rate_limited(
                    reached.limit, reached.window, reached.retry_after_seconds
                )
                return self._refusal(answer_id, "limited", text), None
        # The message as typed: an offline follow-up's rewrite adds the earlier question's words.
        language = detect_language(text)
        if not self._options.languages.allows(language):
            return self._other_language(answer_id, text, language), None

        standalone, rewrite_usage = await self._writer.standalone(
            dataclasses.replace(question, text=text)
        )
        corpus = await self._store.corpus_state()
        version = corpus.version
        key = cache_key(
            standalone, scopes, corpus, self._options.prompt_version, self._writer.model
        )
        cached = await self._cache.get(key)
        self._metrics.cache_lookups.labels("miss" if cached is None else "hit").inc()
        if cached is not None:
            # A cache hit spent no tokens, whatever the original answer cost.
            hit = dataclasses.replace(cached, id=answer_id, cached=True, usage=rewrite_usage)
            return hit, version

        if events is not None:
            events.status(messages.SEARCHING)
        sources = await self._retriever.search(Query(standalone, self._options.top_k, scopes))
        coverage = self._options.coverage.assess(coverage_signals(standalone, sources))
        if not sources or coverage == "not_covered":
            return self._not_covered(answer_id, standalone, rewrite_usage, sources), version

        if events is None:
            draft = await self._writer.write(standalone, sources)
        else:
            events.status(messages.WRITING)
            draft = await stream_draft(self._writer, standalone, sources, events)
        usage = _add(rewrite_usage, draft.usage)
        text_with_markers, citations = resolve_citations(draft.text, sources)
        if draft.degraded and not citations:  # nothing to quote says nothing about coverage
            raise LLMUnavailableError("the model is unavailable and nothing could be quoted")
        if draft.declined or not citations:
            not_covered = self._not_covered(answer_id, standalone, usage, sources, draft.model)
            return not_covered, version
        # A model reads the sources and says itself when they do not answer; quotes cannot.
        unsure = coverage == "unsure" and draft.model == OFFLINE_MODEL
        if unsure:
            text_with_markers = messages.unsure(text_with_markers, self._options.contact)
        if draft.degraded:
            text_with_markers = messages.limited(text_with_markers)

        answer = Answer(
            id=answer_id,
            text=text_with_markers,
            citations=citations,
            grounded=True,
            outcome="answered",
            model=draft.model,
            usage=usage,
            standalone_question=standalone,
            sources=tuple(sources),
            degraded=draft.degraded,
            unsure=unsure,
        )
        await self._cache.put(key, answer)
        return answer, version

    def _not_covered(
        self,
        answer_id: str,
        standalone: str,
        usage: Usage,
        sources: list[ScoredChunk],
        model: str | None = None,
    ) -> Answer:
        return Answer(
            id=answer_id,
            text=messages.not_covered(self._options.contact),
            citations=(),
            grounded=False,
            outcome="not_covered",
            model=model or self._writer.model,
            usage=usage,
            standalone_question=standalone,
            sources=tuple(sources),
        )

    def _other_language(self, answer_id: str, text: str, language: str) -> Answer:
        # Not covered, rather than invalid, so that the gap queue shows what people ask in it.
        searchable = self._options.languages.codes or ()
        return Answer(
            id=answer_id,
            text=messages.other_language(language, searchable, self._options.contact),
            citations=(),
            grounded=False,
            outcome="not_covered",
            model=self._writer.model,
            standalone_question=text,
        )

    def _refusal(self, answer_id: str, outcome: Outcome, text: str) -> Answer:
        return Answer(
            id=answer_id,
            text=text,
            citations=(),
            grounded=False,
            outcome=outcome,
            model=self._writer.model,
        )


def _add(first: Usage, second: Usage) -> Usage:
    return Usage(
        first.prompt_tokens + second.prompt_tokens,
        first.completion_tokens + second.completion_tokens,
    )
