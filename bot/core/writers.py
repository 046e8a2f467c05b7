"""Answer writers: turn a question and its sources into a cited draft.

- ``LLMAnswerWriter`` prompts a chat model with the house style and the sources as quoted data.
- ``ExtractiveAnswerWriter`` is the offline writer (no LLM configured): it picks the sentences
  of the top sources that share the most words with the question and cites each. It is
  deterministic, never paraphrases, and cannot translate or reason across sources.

Both also make a follow-up ("does that cover a chair too?") standalone before retrieval, and
leave a new question that needs no thread as it is (``bot/core/follow_up.py``).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.core import messages
from bot.core.follow_up import continues_thread, last_question
from bot.core.llm import ChatMessage, ChatModel
from bot.core.prompts import Prompts
from bot.core.types import Question, Usage
from bot.core.vocabulary import STOPWORDS, WORD
from knowledge.sentences import split_sentences
from knowledge.types import ScoredChunk

NOT_COVERED = "NOT_COVERED"
OFFLINE_MODEL = "offline-extractive"
ANSWER_MAX_TOKENS = 700


@dataclass(frozen=True)
class Draft:
    """A writer's answer before its citations are checked; ``declined`` means "not covered"."""

    text: str
    model: str
    usage: Usage
    declined: bool = False


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


class LLMAnswerWriter:
    """A chat model, the system prompt with the house style, and the sources as quoted data."""

    def __init__(
        self,
        chat: ChatModel,
        prompts: Prompts,
        *,
        company: str,
        max_tokens: int = ANSWER_MAX_TOKENS,
    ) -> None:
        self._chat = chat
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
        completion = await self._chat.complete([ChatMessage("user", prompt)], max_tokens=150)
        return completion.text.strip().strip('"'), completion.usage

    async def write(self, question: str, sources: Sequence[ScoredChunk]) -> Draft:
        completion = await self._chat.complete(
            answer_prompt(self._prompts, company=self._company, question=question, sources=sources),
            max_tokens=self._max_tokens,
        )
        return Draft(completion.text, completion.model, completion.usage, declines(completion.text))


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


def content_terms(text: str) -> set[str]:
    """The lower-cased, roughly stemmed words of ``text`` that carry meaning."""
    return {_stem(w) for w in WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1}


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


class ExtractiveAnswerWriter:
    """The offline writer: the most relevant sentences of the top sources, each cited."""

    def __init__(self, *, max_sentences: int = 4, sources_used: int = 3) -> None:
        self._max_sentences = max_sentences
        self._sources_used = sources_used

    @property
    def model(self) -> str:
        return OFFLINE_MODEL

    async def standalone(self, question: Question) -> tuple[str, Usage]:
        previous = last_question(question)
        if not continues_thread(question.text, previous):
            return question.text, Usage()
        # The message's own words first, then the question it leans on, which names what the
        # message leaves out ("and can I carry some over?" + "How many days of annual leave…").
        # The whole question finds more than its key words alone: 18 of 21 follow-ups of
        # sample-conversations against 16 (README, "Answers").
        return f"{question.text} {previous}", Usage()

    async def write(self, question: str, sources: Sequence[ScoredChunk]) -> Draft:
        wanted = content_terms(question)
        candidates: list[tuple[float, int, int, str]] = []  # score, source, position, sentence
        for n, source in enumerate(sources[: self._sources_used], 1):
            for position, sentence in enumerate(split_sentences(source.text)):
                shared = len(wanted & content_terms(sentence))
                candidates.append((shared + 0.5 / n, n, position, sentence))
        if not candidates:
            return Draft(messages.offline_answer([]), OFFLINE_MODEL, Usage(), declined=True)
        best = sorted(candidates, key=lambda c: (-c[0], c[1], c[2]))[: self._max_sentences]
        # Keep sentences nearly as relevant as the best one, and always the best one.
        chosen = [c for c in best if c[0] >= max(1.0, 0.6 * best[0][0])] or best[:1]
        lines = [f"{sentence} [{n}]" for _, n, _, sentence in sorted(chosen, key=lambda c: c[1:3])]
        return Draft(messages.offline_answer(lines), OFFLINE_MODEL, Usage())
