"""Answer writers: turn a question and its sources into a cited draft.

- ``LLMAnswerWriter`` prompts a chat model with the house style and the sources as quoted data.
- ``ExtractiveAnswerWriter`` (``bot/core/offline_writer.py``) is the offline writer (no LLM
  configured): it quotes the sentences of the sources closest in meaning to the question.
- ``DegradingAnswerWriter`` writes with the model and, when the model cannot be used, with the
  offline writer, marking the draft ``degraded``.

Each writes a whole draft (``write``) or streams it (``stream``): deltas as they are written,
then the whole ``Draft``. Both also make a follow-up ("does that cover a chair too?")
standalone before retrieval, and leave a new question that needs no thread as it is
(``bot/core/follow_up.py``).
"""

from __future__ import annotations

import dataclasses
import html
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.core.llm import ChatMessage, ChatModel, Completion, LLMUnavailableError
from bot.core.prompts import Prompts
from bot.core.types import Question, Usage
from knowledge.types import ScoredChunk

log = logging.getLogger(__name__)

NOT_COVERED = "NOT_COVERED"
OFFLINE_MODEL = "offline-extractive"
ANSWER_MAX_TOKENS = 700


@dataclass(frozen=True)
class Draft:
    """A writer's answer before its citations are checked; ``declined`` means "not covered",
    ``degraded`` that the model could not be used and the offline writer quoted instead."""

    text: str
    model: str
    usage: Usage
    declined: bool = False
    degraded: bool = False


@dataclass(frozen=True)
class DraftDelta:
    """The next piece of a draft being written; its citations are not checked yet."""

    text: str


DraftEvent = DraftDelta | Draft


class AnswerWriter(Protocol):
    """Writes answers from sources, and makes follow-up questions standalone."""

    @property
    def model(self) -> str: ...

    async def standalone(self, question: Question) -> tuple[str, Usage]:
        """The question rewritten to be understood without its thread."""
        ...

    async def write(self, question: str, sources: Sequence[ScoredChunk]) -> Draft:
        """A draft citing ``sources`` as [1], [2], ... in the given order."""
        ...

    def stream(self, question: str, sources: Sequence[ScoredChunk]) -> AsyncIterator[DraftEvent]:
        """``write``'s draft as it is written: deltas, then the whole ``Draft`` last."""
        ...


class LLMAnswerWriter:
    """A chat model, the system prompt with the house style, and the sources as quoted data."""

    def __init__(
        self,
        chat: ChatModel,
        prompts: Prompts,
        *,
        company: str,
        max_tokens: int = ANSWER_MAX_TOKENS,
        rewriter: ChatModel | None = None,
    ) -> None:
        """``rewriter`` (default: ``chat``) makes follow-ups standalone."""
        self._chat = chat
        self._rewriter = rewriter or chat
        self._prompts = prompts
        self._company = company
        self._max_tokens = max_tokens

    @property
    def model(self) -> str:
        return self._chat.name

    async def standalone(self, question: Question) -> tuple[str, Usage]:
        if not question.history:
            return question.text, Usage()
        history = "\n".join(
            f"{'Employee' if turn.role == 'user' else 'Assistant'}: {turn.text}"
            for turn in question.history[-6:]
        )
        prompt = self._prompts.rewrite.substitute(history=history, question=question.text)
        completion = await self._rewriter.complete([ChatMessage("user", prompt)], max_tokens=150)
        return completion.text.strip().strip('"'), completion.usage

    async def write(self, question: str, sources: Sequence[ScoredChunk]) -> Draft:
        completion = await self._chat.complete(
            answer_prompt(self._prompts, company=self._company, question=question, sources=sources),
            max_tokens=self._max_tokens,
        )
        return Draft(completion.text, completion.model, completion.usage, declines(completion.text))

    async def stream(
        self, question: str, sources: Sequence[ScoredChunk]
    ) -> AsyncIterator[DraftEvent]:
        prompt = answer_prompt(
            self._prompts, company=self._company, question=question, sources=sources
        )
        async for piece in self._chat.stream(prompt, max_tokens=self._max_tokens):
            if isinstance(piece, Completion):
                yield Draft(piece.text, piece.model, piece.usage, declines(piece.text))
            else:
                yield DraftDelta(piece.text)


class DegradingAnswerWriter:
    """The model's writer, and the offline one whenever the model cannot be used: quoted
    sources with their citations beat an apology."""

    def __init__(self, primary: AnswerWriter, fallback: AnswerWriter) -> None:
        self._primary = primary
        self._fallback = fallback

    @property
    def model(self) -> str:
        return self._primary.model

    async def standalone(self, question: Question) -> tuple[str, Usage]:
        try:
            return await self._primary.standalone(question)
        except LLMUnavailableError as e:
            log.info("follow-up made standalone without the model (%s)", e)
            return await self._fallback.standalone(question)

    async def write(self, question: str, sources: Sequence[ScoredChunk]) -> Draft:
        try:
            return await self._primary.write(question, sources)
        except LLMUnavailableError as e:
            log.info("answer quoted without the model (%s)", e)
            draft = await self._fallback.write(question, sources)
            return dataclasses.replace(draft, degraded=True)

    async def stream(
        self, question: str, sources: Sequence[ScoredChunk]
    ) -> AsyncIterator[DraftEvent]:
        shown = False
        try:
            async for event in self._primary.stream(question, sources):
                shown = shown or isinstance(event, DraftDelta)
                yield event
            return
        except LLMUnavailableError as e:
            if shown:  # half an answer is on screen: the asker gets the apology instead
                raise
            log.info("answer quoted without the model (%s)", e)
        async for event in self._fallback.stream(question, sources):
            yield dataclasses.replace(event, degraded=True) if isinstance(event, Draft) else event


async def stream_whole(draft: Draft) -> AsyncIterator[DraftEvent]:
    """A draft written at once, streamed line by line (a declined one only as the draft)."""
    if not draft.declined:
        for line in draft.text.splitlines(keepends=True):
            yield DraftDelta(line)
    yield draft


def answer_prompt(
    prompts: Prompts, *, company: str, question: str, sources: Sequence[ScoredChunk]
) -> list[ChatMessage]:
    """The system and user messages a model answers ``question`` from; training examples
    are built with this too, so a tuned model learns on exactly the prompt it meets live."""
    system = prompts.system.substitute(company=company, style=prompts.style)
    user = prompts.question.substitute(sources=format_sources(sources), question=question)
    return [ChatMessage("system", system), ChatMessage("user", user)]


def declines(text: str) -> bool:
    """Whether a model's reply is the "not covered" decline the system prompt asks for."""
    return NOT_COVERED in text


def format_sources(sources: Sequence[ScoredChunk]) -> str:
    """Sources as quoted, numbered blocks; their text cannot close its own block."""
    blocks = []
    for n, source in enumerate(sources, 1):
        where = " › ".join(h for h in source.heading_path if h != source.title) or source.title
        blocks.append(
            f'<source n="{n}" title="{html.escape(source.title)}" section="{html.escape(where)}">\n'
            f"{html.escape(source.text, quote=False)}\n</source>"
        )
    return "\n\n".join(blocks)
