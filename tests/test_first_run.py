"""The first minutes of a new user: what the commands say while they wait, a demo that can be
asked while its handbook loads, an ingest that stops cleanly on Ctrl-C and picks up where it
stopped, and a server whose start-up lines are all its own."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli.demo import ChatWhileLoading, answer_while_loading
from bot.cli.progress import IngestCounter, Progress
from bot.core.answer_log import PgAnswerLog, Prices
from bot.core.answering import AnsweringOptions, AnswerService
from bot.core.cache import RedisAnswerCache, redis_client
from bot.core.coverage import MinimumSimilarity
from bot.core.offline_writer import ExtractiveAnswerWriter
from bot.core.types import Question
from knowledge.embedders import HashingEmbedder
from knowledge.ingest import ingest
from knowledge.loading import LoadOptions, plan
from knowledge.retrieval import PgHybridRetriever
from knowledge.samples import SAMPLE_BASE_URL, SAMPLE_DOCS
from knowledge.store import PgDocumentStore
from tests.test_cli import _base_env, run

# ---- the status line ---------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_wait_shows_what_it_waits_for_and_then_how_long_it_took() -> None:
    screen, clock = Terminal(), Clock()
    progress = Progress(screen, clock=clock)
    async with progress.step("Loading the embedding model", "Embedding model loaded"):
        clock.now += 3
        progress.draw()
        assert screen.getvalue().endswith("Loading the embedding model… 3 s")
        async with progress.step("Starting the embedded database", "Embedded database ready"):
            clock.now += 1
            progress.draw()
            assert "Loading the embedding model · Starting the embedded database… 4 s" in (
                screen.getvalue()
            )
            clock.now += 1
        assert "\r\x1b[K✓ Embedded database ready (2.0 s)\n" in screen.getvalue()
        assert screen.getvalue().endswith("Loading the embedding model… 5 s"), "redrawn below"
        clock.now += 1
    assert screen.getvalue().endswith("\r\x1b[K✓ Embedding model loaded (6.0 s)\n"), "no live line"


async def test_a_short_wait_leaves_no_trace() -> None:
    screen, clock = Terminal(), Clock()
    progress = Progress(screen, clock=clock)
    async with progress.step("Starting the embedded database", "Embedded database ready"):
        clock.now += 0.1
        progress.draw()
    assert "Embedded database" not in screen.getvalue()


async def test_a_wait_that_fails_is_not_said_to_be_done() -> None:
    screen, clock = Terminal(), Clock()
    progress = Progress(screen, clock=clock)
    with pytest.raises(OSError):
        async with progress.step("Starting the embedded database", "Embedded database ready"):
            clock.now += 3
            progress.draw()
            raise OSError("no space left on device")
    assert "Starting the embedded database… 3 s" in screen.getvalue()
    assert "ready" not in screen.getvalue() and screen.getvalue().endswith("\r\x1b[K")


async def test_nothing_is_shown_when_not_on_a_terminal() -> None:
    screen, clock = io.StringIO(), Clock()
    progress = Progress(screen, clock=clock)
    async with progress.step("Loading the embedding model", "Embedding model loaded"):
        clock.now += 10
        progress.draw()
    assert not progress.enabled and screen.getvalue() == ""


def test_the_time_left_follows_the_bytes_still_to_read() -> None:
    clock = Clock()
    counter = IngestCounter(documents=4, size=4000, clock=clock)
    assert counter.seconds_left() is None
    assert "estimating time left" in counter.line()
    clock.now += 10
    counter.add(sections=5, size=1000)
    assert counter.seconds_left() == pytest.approx(30)
    counter.add(sections=7, size=1000)
    assert counter.seconds_left() == pytest.approx(10)
    assert counter.line().startswith("Ingesting 2/4 documents · 12 sections · about 10 s left")


def test_the_plan_lists_what_will_be_loaded_with_sizes(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n\nText.\n")
    (tmp_path / "b.txt").write_text("plain")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / ".hidden.md").write_text("# Hidden")
    sizes = plan([str(tmp_path), "https://example.com/page"]).sizes
    assert sizes == {
        str(tmp_path / "a.md"): 11,
        str(tmp_path / "b.txt"): 5,
        "https://example.com/page": 0,
    }


# ---- the demo, asked while its handbook loads ---------------------------------------------------


class GatedLoad:
    """The sample handbook, of which ``first`` is stored; the rest is stored when waited for."""

    def __init__(self, store: PgDocumentStore, first: list[Path]) -> None:
        self.store, self.first = store, first
        self.documents = len(plan([str(SAMPLE_DOCS)]).sizes)
        self.stored, self.done, self.fresh, self.waited = 0, False, True, False

    async def load(self, targets: list[str]) -> None:
        options = LoadOptions(base_url=SAMPLE_BASE_URL)
        async for report in ingest(targets, self.store, load_options=options):
            assert report.result is not None, report.error
            self.stored += report.result.status == "added"

    async def start(self) -> None:
        await self.load([str(path) for path in self.first])

    async def wait(self) -> None:
        self.waited = True
        await self.load([str(SAMPLE_DOCS)])
        self.done = True

    def line(self) -> str:
        return "loading"


@pytest.fixture
async def service(
    engine: AsyncEngine, embedder: HashingEmbedder, redis_url: str
) -> AsyncIterator[AnswerService]:
    client: redis.asyncio.Redis = redis_client(redis_url)
    try:
        yield AnswerService(
            retriever=PgHybridRetriever(engine, embedder),
            store=PgDocumentStore(engine, embedder),
            writer=ExtractiveAnswerWriter(),
            cache=RedisAnswerCache(client, ttl_seconds=60, namespace=uuid.uuid4().hex),
            answer_log=PgAnswerLog(engine, Prices(0.0, 0.0)),
            # The hashing embedder's similarities run low: any match answers.
            options=AnsweringOptions(coverage=MinimumSimilarity(0.0)),
        )
    finally:
        await client.aclose()


PARTNER_LEAVE = Question("How many weeks of partner leave do I get?")


async def test_a_question_nothing_loaded_covers_yet_is_answered_once_the_rest_is_loaded(
    service: AnswerService, store: PgDocumentStore, capsys: pytest.CaptureFixture[str]
) -> None:
    load = GatedLoad(store, first=[])
    reply = await answer_while_loading(service, load, Progress(io.StringIO()), PARTNER_LEAVE)
    assert load.waited and load.stored == load.documents
    said = capsys.readouterr().out
    assert f"None of the {load.documents} documents is loaded yet" in said
    assert reply.answer.outcome == "answered" and reply.note is None
    assert "parental-leave" in reply.answer.citations[0].url


async def test_a_question_the_loaded_part_answers_says_it_came_from_part_of_it(
    service: AnswerService, store: PgDocumentStore
) -> None:
    load = GatedLoad(store, first=[SAMPLE_DOCS / "people" / "parental-leave.md"])
    await load.start()
    reply = await answer_while_loading(service, load, Progress(io.StringIO()), PARTNER_LEAVE)
    assert not load.waited
    assert reply.answer.outcome == "answered"
    assert "parental-leave" in reply.answer.citations[0].url
    assert reply.note is not None
    assert reply.note.startswith(f"(From the 1 of {load.documents} documents loaded so far;")


async def test_an_answer_from_part_of_the_handbook_is_bettered_with_the_next_answer(
    service: AnswerService, store: PgDocumentStore
) -> None:
    load = GatedLoad(store, first=[SAMPLE_DOCS / "people" / "annual-leave.md"])
    await load.start()
    chat = ChatWhileLoading(service, load, Progress(io.StringIO()))
    first = await chat.respond(PARTNER_LEAVE)
    assert first.note is not None and "annual-leave" in first.answer.citations[0].url
    await load.wait()  # the load ends while the next question is being answered
    second = await chat.respond(Question("Who do I report a lost laptop to?"))
    assert second.note is not None
    assert f"a better answer to “{PARTNER_LEAVE.text}”" in second.note
    assert "parental-leave#" in second.note
    third = await chat.respond(Question("How many days of annual leave do I get?"))
    assert third.note is None, "each question is bettered once"


async def test_at_the_prompt_the_end_of_loading_brings_the_better_answers(
    service: AnswerService, store: PgDocumentStore, capsys: pytest.CaptureFixture[str]
) -> None:
    load = GatedLoad(store, first=[SAMPLE_DOCS / "people" / "annual-leave.md"])
    await load.start()
    chat = ChatWhileLoading(service, load, Progress(io.StringIO()))
    for question in (PARTNER_LEAVE, Question("How many days of annual leave do I get?")):
        await chat.respond(question)
    capsys.readouterr()
    await load.wait()
    after = chat.loaded()
    assert after is not None
    await after
    said = capsys.readouterr().out
    assert said.count("a better answer to") == 1, "only the answer whose sources change"
    assert f"a better answer to “{PARTNER_LEAVE.text}”" in said and "parental-leave#" in said


def test_the_demo_chat_starts_before_the_handbook_is_loaded_and_answers_from_it(
    empty_database_url: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        env=_base_env(empty_database_url, tmp_path),
        input="How many weeks of partner leave do I get?\n/quit\n",
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Loading the sample handbook (22 documents) while you ask")
    assert "parental-leave#partner-leave" in result.stdout
    assert result.stderr == "", "nothing but the chat on a pipe"


# ---- ingest: stopping and going on -------------------------------------------------------------


def test_ctrl_c_stops_an_ingest_keeping_what_is_stored_and_a_rerun_goes_on(
    database_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for n in range(300):
        (folder / f"policy-{n:03}.md").write_text(f"# Policy {n}\n\n## Rule\n\nRule {n} applies.\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "ingest", str(folder)],
        env=_base_env(database_url, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell's background job ignores SIGINT, and a child inherits that: undo it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stdout is not None
    for _ in range(5):
        assert process.stdout.readline().startswith("added")
    process.send_signal(signal.SIGINT)
    rest, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    match = re.search(r"Stopped after (\d+) of 300 documents", stderr)
    assert match, stderr
    reported = 5 + rest.count("added ")
    assert reported == int(match[1]) and reported < 300
    stored = json.loads(run("docs", "--json", database_url=database_url, home=tmp_path).stdout)
    # A document committed as the signal came may not have been reported; none is half-stored.
    assert reported <= len(stored) <= reported + 1
    assert all(d["chunk_count"] == 1 for d in stored)

    again = run("ingest", str(folder), database_url=database_url, home=tmp_path)
    assert again.returncode == 0, again.stderr
    added = 300 - len(stored)
    assert f"Ingested 300 documents ({added} added, {len(stored)} unchanged)" in again.stdout


def test_ingest_on_a_terminal_shows_documents_sections_and_time_left(
    database_url: str, tmp_path: Path
) -> None:
    main, secondary = os.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "bot", "ingest", str(SAMPLE_DOCS / "people")],
        env=_base_env(database_url, tmp_path) | {"COLUMNS": "200"},
        stdin=subprocess.DEVNULL,
        stdout=secondary,
        stderr=secondary,
    ) as process:
        os.close(secondary)
        screen = b""
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the terminal closes with the process
                break
            if not chunk:
                break
            screen += chunk
        process.wait(60)
    os.close(main)
    text = screen.decode()
    assert process.returncode == 0, text
    assert "Ingesting 8/8 documents · " in text or "Ingesting 7/8 documents · " in text
    assert re.search(r"sections · about \d+ s left · stored ones are answerable now", text)
    assert "Ingested 8 documents (8 added)" in text


# ---- serve: every line at start is ours ---------------------------------------------------------


async def test_serve_prints_only_its_own_lines_at_start(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    from tests.fake_slack import fake_slack
    from tests.replica_processes import replica_environment, replicas

    async with fake_slack() as slack:
        env = replica_environment(
            slack, database_url=database_url, redis_url=redis_url, home=tmp_path
        )
        async with replicas(env, 1, tmp_path) as (replica,):
            await asyncio.sleep(0.5)
            output = replica.output()
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines[0].startswith("supportbot is serving on http://127.0.0.1:")
    assert lines[1].startswith("Slack: events at http://127.0.0.1:")
    assert lines[2].startswith("Teams: activities at http://127.0.0.1:")
    assert len(lines) == 3, output


# ---- the embedded database keeps itself current ---------------------------------------------


def test_any_command_on_a_fresh_embedded_home_brings_the_schema_up_to_date() -> None:
    home = Path(tempfile.mkdtemp(prefix="sbh-", dir="/tmp"))  # short: socket paths are limited
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SUPPORTBOT_", "OPENAI_", "DATABASE_URL", "REDIS_URL"))
    } | {"SUPPORTBOT_HOME": str(home), "SUPPORTBOT_EMBEDDER": "hashing"}
    try:
        docs = subprocess.run(
            [sys.executable, "-m", "bot", "docs"],
            env=env, capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
        assert docs.returncode == 0, docs.stderr
        assert "no documents yet" in docs.stdout
        status = subprocess.run(
            [sys.executable, "-m", "bot", "status"],
            env=env, capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
        schema = re.search(r"schema\s+(\S+) \(this version needs (\S+)\)", status.stdout)
        assert schema and schema[1] == schema[2], status.stdout
    finally:
        shutil.rmtree(home, ignore_errors=True)
