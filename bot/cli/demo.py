"""``supportbot demo``: the product on its embedded defaults, asked about the sample handbook
while it loads."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import sys
from collections.abc import Callable
from typing import Protocol

from bot.cli import messages
from bot.cli.chat import Reply, answer_text, chat_loop, print_answer, terminal_asker
from bot.cli.common import EXIT_OK
from bot.cli.progress import IngestCounter, Progress
from bot.cli.startup import prepare
from bot.core.answering import AnswerService
from bot.core.knowledge_base import KnowledgeBase
from bot.core.types import Answer, Question
from bot.service.settings import Settings
from bot.service.wiring import open_core
from knowledge.ingest import ingest
from knowledge.loading import LoadPlan, plan
from knowledge.samples import SAMPLE_BASE_URL, SAMPLE_DOCS
from knowledge.types import PUBLIC_SCOPE


class Loading(Protocol):
    """Documents being loaded while questions are asked."""

    @property
    def documents(self) -> int:
        """How many there are to load."""

    @property
    def stored(self) -> int:
        """How many are stored (and so answerable) so far."""

    @property
    def done(self) -> bool: ...

    @property
    def fresh(self) -> bool:
        """Whether any document was missing when loading began (else it is not worth saying)."""

    async def wait(self) -> None:
        """Until every document is stored; raises what stopped the load, if anything did."""

    def line(self) -> str:
        """The progress line to show while waiting."""


class SampleLoad:
    """The sample handbook being ingested in the background, counting what is stored.

    Each document is committed on its own, so questions asked meanwhile are answered from those
    already stored. ``fresh`` says whether any of its documents was missing at the start: only
    then is the loading worth mentioning (a later run finds them all and just checks them).
    """

    def __init__(self, kb: KnowledgeBase, load_plan: LoadPlan, stored_before: int) -> None:
        self.counter = IngestCounter.of(load_plan)
        self.documents = self.counter.documents
        self.fresh = stored_before < self.documents
        self.changed = 0
        self._kb = kb
        self._task = asyncio.get_running_loop().create_task(self._run())

    @classmethod
    async def start(cls, kb: KnowledgeBase) -> SampleLoad:
        load_plan = await asyncio.to_thread(plan, [str(SAMPLE_DOCS)])
        documents = await kb.store.list_documents()
        stored = sum(1 for d in documents if d.url.startswith(SAMPLE_BASE_URL))
        return cls(kb, load_plan, stored)

    @property
    def done(self) -> bool:
        return self._task.done()

    @property
    def stored(self) -> int:
        return self.counter.done

    async def wait(self) -> None:
        await asyncio.shield(self._task)

    def line(self) -> str:
        return self.counter.line()

    def when_loaded(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` once every document is stored (not if the load fails or stops)."""
        self._task.add_done_callback(
            lambda task: None if task.cancelled() or task.exception() else callback()
        )

    async def stop(self) -> None:
        """Stop loading; what is stored stays, and the next ``demo`` loads the rest."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        options = dataclasses.replace(self._kb.load_options, base_url=SAMPLE_BASE_URL)
        async for report in ingest(
            [str(SAMPLE_DOCS)], self._kb.store, load_options=options, chunking=self._kb.chunking
        ):
            self.changed += report.result is not None and report.result.status != "unchanged"
            self.counter.count(report)


async def demo(settings: Settings, args: argparse.Namespace) -> int:
    """Set up the embedded defaults and the sample handbook, then answer (one question, or a
    chat that starts before the handbook has finished loading)."""
    progress = Progress()
    # The model loads with the handbook, after the prompt: a question typed meanwhile waits.
    embedder = await prepare(settings, progress, migrate_schema=True, load_model=False)
    async with open_core(settings, embedder=embedder) as core:
        load = await SampleLoad.start(core.kb)
        try:
            if args.question:
                await _wait(load, progress)
                if load.changed:
                    print(messages.demo_loaded(load.documents))
                question = Question(args.question, asker=terminal_asker(core.user_hash_key))
                print_answer(await core.answers.answer(question), as_json=False)
                return EXIT_OK
            chat = ChatWhileLoading(core.answers, load, progress)
            if load.fresh:
                print(messages.demo_loading(load.documents))
                load.when_loaded(chat.loaded)
            try:
                await chat_loop(chat.respond, (PUBLIC_SCOPE,), terminal_asker(core.user_hash_key))
            finally:
                chat.close()
        finally:
            await load.stop()
    return EXIT_OK


class ChatWhileLoading:
    """The demo's chat while the handbook loads. Answers come from what is stored so far; once
    all of it is, the prompt says so, and each question answered from part of it is answered
    again, the better answer shown when the whole handbook changes its sources."""

    def __init__(self, service: AnswerService, load: Loading, progress: Progress) -> None:
        self._service, self._load, self._progress = service, load, progress
        self._partial: list[tuple[Question, Answer]] = []
        self._answering = False
        self._after: asyncio.Task[None] | None = None

    async def respond(self, question: Question) -> Reply:
        self._answering = True
        try:
            reply = await answer_while_loading(self._service, self._load, self._progress, question)
            better = await self._better_answers() if self._load.done else []
        finally:
            self._answering = False
        if reply.note is not None:
            self._partial.append((question, reply.answer))
        return Reply(reply.answer, "\n".join(filter(None, [reply.note, *better])) or None)

    def loaded(self) -> asyncio.Task[None] | None:
        """Call when every document is stored: at the prompt, say so and show better answers
        (while a question is being answered, they come with its answer instead)."""
        if not self._answering:
            self._after = asyncio.ensure_future(self._at_the_prompt())
        return self._after

    def close(self) -> None:
        if self._after is not None:
            self._after.cancel()

    async def _at_the_prompt(self) -> None:
        on_terminal = sys.stdout.isatty()
        lines = [messages.demo_loaded(self._load.documents)] if on_terminal else []
        lines += await self._better_answers()
        if lines and on_terminal:  # the prompt is showing: clear it, and show it again after
            print("\r\x1b[K" + "\n".join(lines), end="\nyou> ", flush=True)
        elif lines:
            print("\n".join(lines), flush=True)

    async def _better_answers(self) -> list[str]:
        partial, self._partial = self._partial, []
        lines: list[str] = []
        for question, before in partial:
            answer = await self._service.answer(question)
            if _cited(answer) != _cited(before):
                lines += ["", messages.demo_better_answer(question.text), "", answer_text(answer)]
        return lines


def _cited(answer: Answer) -> set[str]:
    return {citation.url for citation in answer.citations}


async def _wait(load: Loading, progress: Progress) -> None:
    with progress.status(load.line):
        await load.wait()


async def answer_while_loading(
    service: AnswerService, load: Loading, progress: Progress, question: Question
) -> Reply:
    """The answer from what is stored now. While loading: one that is not covered yet waits for
    the rest and is asked again; one that is answered says it came from part of the handbook."""
    if load.done or not load.fresh:
        return Reply(await service.answer(question))
    stored = load.stored
    answer = await service.answer(question) if stored else None
    if answer is not None and load.done:
        return Reply(answer)
    if answer is None or answer.outcome == "not_covered":
        print(messages.demo_waiting(stored, load.documents))
        await _wait(load, progress)
        return Reply(await service.answer(question))
    return Reply(answer, messages.demo_partial(stored, load.documents))
