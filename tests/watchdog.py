"""A test that runs far longer than any should prints every asyncio task's stack to the
terminal (past pytest's capture), so a hang in CI shows where it waits instead of nothing.

Once, in a CI run on a machine loaded by other test runs, the suite stopped in
``test_socket_lease.py`` with its event loop idle and Redis still answering; it did not happen
again. This names the awaits of the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

SECONDS = float(os.environ.get("SUPPORTBOT_TEST_WATCHDOG_SECONDS", "600"))


@dataclass
class _Running:
    config: pytest.Config | None = None
    loop: asyncio.AbstractEventLoop | None = None
    test: str | None = None
    started: float = 0.0
    told: str | None = None


_running = _Running()


def _tell() -> None:
    lines = [f"\nwatchdog: {_running.test} has run {SECONDS:.0f} s; its asyncio tasks:"]
    for task in asyncio.all_tasks():
        lines.append(f"  {task!r}")
        lines += [f"    {f.f_code.co_filename}:{f.f_lineno} {f.f_code.co_name}"
                  for f in task.get_stack(limit=25)]  # fmt: skip
    config = _running.config
    capture = config.pluginmanager.getplugin("capturemanager") if config else None
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print("\n".join(lines), file=sys.stderr, flush=True)


def _watch() -> None:
    while True:
        time.sleep(5)
        test, loop = _running.test, _running.loop
        if test is None or test == _running.told or time.monotonic() - _running.started < SECONDS:
            continue
        _running.told = test
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(_tell)


threading.Thread(target=_watch, name="test-watchdog", daemon=True).start()


def pytest_configure(config: pytest.Config) -> None:
    _running.config = config


def pytest_runtest_setup(item: pytest.Item) -> None:
    _running.test, _running.started = item.nodeid, time.monotonic()


@pytest.fixture(autouse=True)
async def _session_loop() -> AsyncIterator[None]:
    _running.loop = asyncio.get_running_loop()
    yield
