"""Parsing untrusted bytes in separate processes, each parse with a deadline and a memory cap.

A document that makes its parser run too long is killed with its process; one that needs too
much memory fails its allocations there (``RLIMIT_AS``); one that crashes its parser takes only
that process down. Each ends in a one-line ``LoadError`` and the next parse gets a fresh
process. Processes are started on first use and reused: the start, imports included, costs
about half a second; a reused one adds 1-2 ms per small document (``bench/parse_bench.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from knowledge.errors import LoadError
from knowledge.loading.limits import ParseLimits
from knowledge.loading.parsing import parse
from knowledge.loading.sources import RawSource
from knowledge.types import Document

# Plain text is split into lines and nothing else: linear in its size, safe to parse here.
IN_PROCESS_FORMATS = frozenset({"text"})
STARTUP_SECONDS = 60.0
# Retired after this many parses, so what a parse leaves behind (fragmented memory) is bounded.
PARSES_PER_PROCESS = 100
IDLE_PROCESSES = 2
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv.pop(3)); "
    "from knowledge.loading.child import main; main()"
)


class _Parser:
    """One child process and the two pipes to it."""

    def __init__(self) -> None:
        child_reads, parent_writes = os.pipe()
        parent_reads, child_writes = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _BOOT, str(child_reads), str(child_writes), _PACKAGE_ROOT],
                pass_fds=(child_reads, child_writes),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        finally:
            os.close(child_reads)
            os.close(child_writes)
        self._requests = Connection(parent_writes, readable=False)
        self._replies = Connection(parent_reads, writable=False)
        self.parses = 0
        if not self._replies.poll(STARTUP_SECONDS):
            self.stop()
            raise OSError(f"the parsing process did not start within {STARTUP_SECONDS:g} s")
        self._replies.recv()  # ("ready", pid); EOFError if it failed to start

    def exchange(self, source: RawSource, limits: ParseLimits) -> tuple[str, Any] | None:
        """The child's reply, or None once ``limits.seconds`` have passed without one."""
        deadline = time.monotonic() + limits.seconds
        self.parses += 1
        self._requests.send((source, limits))
        if not self._replies.poll(max(deadline - time.monotonic(), 0)):
            return None
        reply: tuple[str, Any] = self._replies.recv()
        return reply

    def ended(self) -> str:
        """How the process ended, for an error message."""
        code = self.process.poll()
        if code is not None and code < 0:
            return f"signal {signal.Signals(-code).name}"
        return f"exit code {code}"

    def stop(self, grace: float = 0.0) -> None:
        """End the process (after ``grace`` seconds to end by itself) and close the pipes."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(grace)
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        with contextlib.suppress(OSError):
            self._requests.close()
            self._replies.close()


class ParserPool:
    """Child processes that parse one document at a time each; as many as parses under way.

    Safe to share between threads and event loops: a parse takes an idle process or starts
    one, and gives it back (or stops it) when done.
    """

    def __init__(self) -> None:
        self._idle: list[_Parser] = []
        self._lock = threading.Lock()

    async def parse(self, source: RawSource, limits: ParseLimits) -> Document:
        """``source`` parsed in a child process within ``limits``, or a ``LoadError``."""
        parser = await asyncio.to_thread(self._take, source.name)
        try:
            reply = await asyncio.to_thread(parser.exchange, source, limits)
        except (EOFError, OSError):
            await asyncio.to_thread(parser.stop, 1.0)  # time to tell a crash from our kill
            raise LoadError(source.name, f"crashed the parser ({parser.ended()})") from None
        except BaseException:
            # Cancelled: stop the parse under way. The thread still waiting on the pipes sees
            # them end and lets go of them; closing them under it could read another file.
            parser.process.kill()
            raise
        if reply is None:
            await asyncio.to_thread(parser.stop)
            raise LoadError(source.name, f"took over the {limits.seconds:g} s limit to parse")
        kind, value = reply
        if kind == "retire" or parser.parses >= PARSES_PER_PROCESS:
            await asyncio.to_thread(parser.stop)
        else:
            self._give_back(parser)
        if kind == "document":
            document: Document = value
            return document
        raise LoadError(source.name, str(value))

    def close(self) -> None:
        """Stop the idle processes (busy ones stop when their parse ends)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for parser in idle:
            parser.stop()

    def _take(self, name: str) -> _Parser:
        while True:
            with self._lock:
                if not self._idle:
                    break
                parser = self._idle.pop()
            if parser.process.poll() is None:
                return parser
            parser.stop()  # ended while idle (killed from outside): not this document's fault
        try:
            return _Parser()
        except (OSError, EOFError) as e:
            raise LoadError(name, f"could not be parsed: no parsing process ({e})") from e

    def _give_back(self, parser: _Parser) -> None:
        with self._lock:
            if len(self._idle) < IDLE_PROCESSES:
                self._idle.append(parser)
                return
        parser.stop()


_POOL = ParserPool()


async def parse_bounded(source: RawSource, limits: ParseLimits) -> Document:
    """Parse ``source`` within ``limits``: in a child process, or here for plain text."""
    if source.format in IN_PROCESS_FORMATS:
        return await asyncio.to_thread(parse, source, limits)
    return await _POOL.parse(source, limits)
