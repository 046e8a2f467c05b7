"""What a command is waiting for, shown on the terminal while it waits.

A wait gets one live status line that counts the seconds ("Loading the embedding model… 3 s"),
several waits at once share it, and each that was shown leaves a line saying it is done and how
long it took. Ingesting shows documents and sections stored and the time left. The live line
goes to stderr and only when stderr is a terminal: piped or logged output stays as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TextIO

from bot.cli import messages
from knowledge.ingest import IngestReport
from knowledge.loading import LoadPlan

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
# A wait shorter than this never appears: a warm start prints nothing it does not need to.
SHOW_AFTER_SECONDS = 0.4
REFRESH_SECONDS = 0.25


@dataclass
class _Wait:
    doing: str
    done: str
    started: float


@dataclass
class Progress:
    """The live status line of one command.

    ``enabled`` defaults to whether ``stream`` is a terminal; ``clock`` and ``show_after`` are
    there so tests need not wait.
    """

    stream: TextIO = field(default_factory=lambda: sys.stderr)
    enabled: bool | None = None
    clock: Callable[[], float] = time.monotonic
    show_after: float = SHOW_AFTER_SECONDS
    _waits: list[_Wait] = field(default_factory=list)
    _shown: set[int] = field(default_factory=set)
    _status: Callable[[], str] | None = None
    _ticker: asyncio.Task[None] | None = None
    _frame: int = 0
    _drawn: bool = False

    def __post_init__(self) -> None:
        if self.enabled is None:
            self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())

    @contextlib.asynccontextmanager
    async def step(self, doing: str, done: str) -> AsyncIterator[None]:
        """Show ``doing`` until the block ends; then, if it was shown and the block succeeded,
        ``done`` and its time (a failure's own error says what happened)."""
        wait = _Wait(doing, done, self.clock())
        self._waits.append(wait)
        self._start_ticking()
        succeeded = False
        try:
            yield
            succeeded = True
        finally:
            self._waits.remove(wait)
            if id(wait) in self._shown:
                self._shown.discard(id(wait))
                if succeeded:
                    line = messages.step_done(wait.done, self.clock() - wait.started)
                    self.echo(line, file=self.stream)
            self._stop_ticking_if_idle()

    @contextlib.contextmanager
    def status(self, render: Callable[[], str]) -> Iterator[None]:
        """Keep the line ``render()`` returns on screen (refreshed) until the block ends."""
        self._status = render
        self._start_ticking()
        try:
            yield
        finally:
            self._status = None
            self._stop_ticking_if_idle()

    def echo(self, text: str, file: TextIO | None = None) -> None:
        """Print ``text`` (to stdout unless ``file``) above the live line, which is redrawn."""
        self._clear()
        print(text, file=file or sys.stdout, flush=True)
        self.draw()

    def draw(self) -> None:
        """Redraw the live line now (the ticker also does, a few times a second)."""
        if not self.enabled:
            return
        line = self._line()
        if not line:
            self._clear()
            return
        width = max(shutil.get_terminal_size().columns - 1, 20)
        self.stream.write("\r\x1b[K" + line[:width])
        self.stream.flush()
        self._drawn = True

    def _line(self) -> str:
        now = self.clock()
        visible = [w for w in self._waits if now - w.started >= self.show_after]
        self._shown.update(id(w) for w in visible)
        parts = [self._status()] if self._status is not None else []
        if visible:
            doing = " · ".join(w.doing for w in visible)
            parts.append(f"{doing}… {now - min(w.started for w in visible):.0f} s")
        if not parts:
            return ""
        return f"{SPINNER[self._frame % len(SPINNER)]} " + "  ".join(parts)

    def _clear(self) -> None:
        if self.enabled and self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False

    def _start_ticking(self) -> None:
        if self.enabled and self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick())

    def _stop_ticking_if_idle(self) -> None:
        if self._waits or self._status is not None:
            return
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        self._clear()

    async def _tick(self) -> None:
        while True:
            self.draw()
            self._frame += 1
            await asyncio.sleep(REFRESH_SECONDS)


@dataclass
class IngestCounter:
    """Documents and sections stored so far out of what was planned, and the time left.

    The time left assumes the bytes still to read take as long per byte as those read so far.
    ``answerable`` says whether to remind that stored documents can already be asked about.
    """

    documents: int
    size: int
    answerable: bool = True
    clock: Callable[[], float] = time.monotonic
    sizes: Mapping[str, int] = field(default_factory=dict)
    done: int = 0
    sections: int = 0
    size_done: int = 0
    started: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.started = self.clock()

    @classmethod
    def of(cls, load_plan: LoadPlan, *, answerable: bool = True) -> IngestCounter:
        """A counter for what ``load_plan`` says will be read."""
        sizes = load_plan.sizes
        return cls(len(sizes), sum(sizes.values()), answerable, sizes=sizes)

    def count(self, report: IngestReport) -> None:
        """Count one ingest report; files skipped for their format were not planned."""
        if not report.skipped:
            sections = report.result.section_count if report.result else 0
            self.add(sections, self.sizes.get(report.source, 0))

    def add(self, sections: int, size: int) -> None:
        """Count one more document: stored with ``sections``, or failed or skipped (0)."""
        self.done += 1
        self.sections += sections
        self.size_done += size

    def seconds_left(self) -> float | None:
        """The estimated seconds left, or None before anything is done to estimate from."""
        elapsed = self.clock() - self.started
        if self.size_done <= 0 or elapsed <= 0:
            return None
        return max(self.size - self.size_done, 0) * elapsed / self.size_done

    def line(self) -> str:
        return messages.ingest_progress(
            self.done,
            self.documents,
            self.sections,
            self.seconds_left(),
            answerable=self.answerable,
        )
