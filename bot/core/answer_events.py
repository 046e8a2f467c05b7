"""An answer as a stream of events, for adapters that show it while it is written.

``AnswerService.stream`` yields ``Status`` lines while it works, ``TextDelta``s of the draft
as the model writes it (only what ``StreamGate`` lets through), then exactly one ``Final``
with the checked answer. A cached answer, a refusal or a "not covered" is only the ``Final``.
``Final.replaces`` says that what was shown is not the start of the final answer (the draft
was declined, had no valid citation, or was changed when checked): show the final answer
in its place.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from bot.core.links import source_hosts
from bot.core.llm import LLMUnavailableError
from bot.core.stream_gate import StreamGate
from bot.core.types import Answer
from bot.core.writers import AnswerWriter, Draft
from knowledge.types import ScoredChunk


@dataclass(frozen=True)
class Status:
    """What the bot is doing now ("Searching the policies…"), for a status line."""

    text: str


@dataclass(frozen=True)
class TextDelta:
    """The next piece of the answer's text (Markdown, with checked ``[n]`` markers)."""

    text: str


@dataclass(frozen=True)
class Final:
    """The whole answer, as ``AnswerService.answer`` returns it; ``shown`` is what the deltas
    before it added up to."""

    answer: Answer
    shown: str = ""

    @property
    def replaces(self) -> bool:
        return bool(self.shown) and self.shown.strip() != self.answer.text.strip()


AnswerEvent = Status | TextDelta | Final


class EventQueue:
    """Where one answer's events go while it is worked out, and what of it was shown."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[AnswerEvent | None] = asyncio.Queue()
        self.shown = ""

    def status(self, text: str) -> None:
        self._queue.put_nowait(Status(text))

    def text(self, delta: str) -> None:
        self.shown += delta
        self._queue.put_nowait(TextDelta(delta))

    def final(self, answer: Answer) -> None:
        self._queue.put_nowait(Final(answer, self.shown))

    async def drain(self, work: asyncio.Task[Answer]) -> AsyncIterator[AnswerEvent]:
        """The events as ``work`` puts them here, until it is done. A consumer that leaves
        early cancels the work."""
        work.add_done_callback(lambda _: self._queue.put_nowait(None))
        try:
            while (event := await self._queue.get()) is not None:
                yield event
            work.result()  # a bug in the answer flow surfaces here rather than as a hang
        finally:
            if not work.done():
                work.cancel()


async def stream_draft(
    writer: AnswerWriter, question: str, sources: Sequence[ScoredChunk], events: EventQueue
) -> Draft:
    """The writer's draft, its text passed on to ``events`` as far as the gate allows."""
    gate = StreamGate(len(sources), source_hosts(s.url for s in sources))
    draft: Draft | None = None
    async for event in writer.stream(question, sources):
        if isinstance(event, Draft):
            draft = event
        elif visible := gate.feed(event.text):
            events.text(visible)
    if draft is None:
        raise LLMUnavailableError("the writer's stream ended without its draft")
    if rest := gate.finish():
        events.text(rest)
    return draft
