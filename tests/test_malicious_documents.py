"""Documents made to exhaust the parsers: refused by a limit with one line, nothing stored, and
the batch goes on. The corpus is tests/malicious/ (rewritten by ``python -m
tests.malicious_files``); files that decompress to hundreds of MB are generated here instead."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from pathlib import Path

import docx
import psutil
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge.ingest import IngestReport, ingest
from knowledge.loading import LoadOptions, LoadOutcome, ParseLimits, RawSource, load
from knowledge.store import PgDocumentStore
from tests.malicious_files import CORPUS, docx_bomb, nested_html

GOOD = "# Leave\n\nEveryone gets 25 days of annual leave.\n"
# Archive limits that let a docx bomb through to the parser, to reach the memory cap.
UNZIP_ANYTHING = {"docx_max_ratio": 1e9, "docx_max_unpacked_mb": 1e9}


async def load_all(
    targets: list[str | RawSource], limits: ParseLimits | None = None
) -> list[LoadOutcome]:
    options = LoadOptions(limits=limits or ParseLimits())
    return [outcome async for outcome in load(targets, options)]


async def ingest_all(
    targets: list[str | RawSource], store: PgDocumentStore, limits: ParseLimits | None = None
) -> list[IngestReport]:
    options = LoadOptions(limits=limits or ParseLimits())
    return [report async for report in ingest(targets, store, load_options=options)]


def good_file(folder: Path) -> str:
    path = folder / "leave.md"
    path.write_text(GOOD)
    return str(path)


def one_line_error(outcome: LoadOutcome, reason: str) -> None:
    assert outcome.document is None, f"{outcome.source} loaded"
    message = str(outcome.error)
    assert message.startswith(f"{outcome.source}: ") and reason in message, message
    assert "\n" not in message


def small_docx() -> bytes:
    document = docx.Document()
    document.add_heading("Leave", level=1)
    document.add_paragraph("Everyone gets 25 days of annual leave.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


async def test_a_docx_bomb_is_refused_from_its_zip_directory() -> None:
    [outcome] = await load_all([str(CORPUS / "bomb.docx")])
    one_line_error(outcome, "word/document.xml decompresses")
    assert "over the 100 times limit for compression" in str(outcome.error)


@pytest.mark.parametrize(
    ("limits", "reason"),
    [
        (ParseLimits(docx_max_members=3), "files, over the 3 limit"),
        (ParseLimits(docx_max_unpacked_mb=0.01), "over the 0.0 MB limit"),
    ],
)
async def test_docx_archive_limits(tmp_path: Path, limits: ParseLimits, reason: str) -> None:
    path = tmp_path / "leave.docx"
    path.write_bytes(small_docx())
    [outcome] = await load_all([str(path)], limits)
    one_line_error(outcome, reason)


def test_a_docx_bomb_is_refused_before_anything_is_decompressed(tmp_path: Path) -> None:
    """Parsed in a fresh process, whose peak memory is the bomb's doing alone."""
    path = tmp_path / "bomb.docx"
    path.write_bytes(docx_bomb(300))
    probe = (
        "import resource, sys\n"
        "from knowledge.loading import RawSource, parse\n"
        "source = RawSource('bomb.docx', open(sys.argv[1], 'rb').read(), 'docx', None, 'x')\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n"
        "    parse(source)\n"
        "    print('loaded')\n"
        "except Exception as e:\n"
        "    print(e)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe, str(path)], capture_output=True, text=True, check=True
    )
    said, grown_kb = run.stdout.strip().splitlines()
    assert said.startswith("bomb.docx: decompresses to 300.") and "over the 100.0 MB" in said, said
    assert int(grown_kb) < 20 * 1024, f"the parse grew memory by {int(grown_kb) // 1024} MB"


async def test_pdfs_over_the_page_limit_are_refused_and_the_batch_goes_on(tmp_path: Path) -> None:
    outcomes = await load_all(
        [str(CORPUS / "many-pages.pdf"), str(CORPUS / "page-tree-bomb.pdf"), good_file(tmp_path)]
    )
    one_line_error(outcomes[0], "has 10000 pages, over the 500-page limit")
    one_line_error(outcomes[1], "has 1000000 pages, over the 500-page limit")
    assert outcomes[2].document is not None, outcomes[2].error


async def test_deeply_nested_html_is_refused(tmp_path: Path) -> None:
    deep = tmp_path / "deeper.html"
    deep.write_bytes(nested_html(100_000))
    for outcome in await load_all([str(CORPUS / "deep-nesting.html"), str(deep)]):
        one_line_error(outcome, "nests elements over 256 levels deep, the HTML limit")


@pytest.mark.parametrize(
    ("limits", "reason"),
    [
        (ParseLimits(html_max_elements=100), "has over 100 elements, the HTML limit"),
        (ParseLimits(html_max_mb=0.1), "is 0.2 MB, over the 0.1 MB limit for HTML"),
    ],
)
async def test_html_size_limits(tmp_path: Path, limits: ParseLimits, reason: str) -> None:
    path = tmp_path / "long.html"
    path.write_text("<h1>Long</h1><ul>" + "<li>An item of the list.</li>" * 6000 + "</ul>")
    [outcome] = await load_all([str(path)], limits)
    one_line_error(outcome, reason)


async def test_yaml_aliases_in_front_matter_are_refused() -> None:
    [outcome] = await load_all([str(CORPUS / "alias-bomb.md")])
    one_line_error(outcome, "front matter uses YAML aliases")


async def test_hidden_html_text_is_not_stored(store: PgDocumentStore, engine: AsyncEngine) -> None:
    [report] = await ingest_all([str(CORPUS / "hidden-text.html")], store)
    assert report.result is not None, report.error
    async with engine.connect() as connection:
        chunks = (await connection.execute(text("SELECT context, text FROM chunks"))).all()
    stored = "\n".join(f"{context}\n{body}" for context, body in chunks)
    assert "PLANTED" not in stored, stored
    assert "Claims are paid within ten working days." in stored
    assert "Receipts are kept for six years." in stored  # display: none, then block: shown
    assert "need a manager's approval" in stored  # hidden="until-found": a search shows it


async def test_a_parse_over_its_deadline_fails_and_the_batch_goes_on(
    tmp_path: Path, store: PgDocumentStore
) -> None:
    # An upload (bytes in hand, as from chat) and then a file, as one batch.
    slow = RawSource("slow-pages.pdf", (CORPUS / "slow-pages.pdf").read_bytes(), "pdf", None, "x")
    reports = await ingest_all([slow, good_file(tmp_path)], store, ParseLimits(seconds=2))
    assert reports[0].error == "slow-pages.pdf: took over the 2 s limit to parse"
    assert reports[1].result is not None, reports[1].error
    assert [d.source for d in await store.list_documents()] == [reports[1].source]


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is enforced on Linux")
async def test_a_parse_over_the_memory_cap_fails_and_the_next_document_loads(
    tmp_path: Path,
) -> None:
    bomb = tmp_path / "bomb.docx"
    bomb.write_bytes(docx_bomb(300))
    limits = ParseLimits(memory_mb=64, **UNZIP_ANYTHING)
    outcomes = await load_all([str(bomb), good_file(tmp_path)], limits)
    one_line_error(outcomes[0], "needed over the 64 MB memory limit to parse")
    assert outcomes[1].document is not None, outcomes[1].error


def parsing_processes() -> list[psutil.Process]:
    return [
        child
        for child in psutil.Process().children()
        if "knowledge.loading.child" in " ".join(child.cmdline())
    ]


async def test_a_crashed_parser_fails_one_document_and_the_next_loads(tmp_path: Path) -> None:
    await load_all([str(CORPUS / "hidden-text.html")])  # a parsing process is up and idle
    idle = {process: process.cpu_times().user for process in parsing_processes()}
    loading = asyncio.create_task(
        load_all([str(CORPUS / "slow-pages.pdf"), good_file(tmp_path)], ParseLimits(seconds=600))
    )
    busy = None
    for _ in range(600):  # the slow PDF keeps one of them busy for most of a minute
        busy = next((p for p, cpu in idle.items() if p.cpu_times().user > cpu + 0.3), None)
        if busy is not None or loading.done():
            break
        await asyncio.sleep(0.1)
    assert busy is not None, "no parsing process took the slow PDF"
    busy.kill()
    outcomes = await loading
    one_line_error(outcomes[0], "crashed the parser (signal SIGKILL)")
    assert outcomes[1].document is not None, outcomes[1].error


async def test_a_failed_document_leaves_what_was_stored_untouched(
    tmp_path: Path, store: PgDocumentStore
) -> None:
    path = tmp_path / "leave.docx"
    path.write_bytes(small_docx())
    [first] = await ingest_all([str(path)], store)
    assert first.result is not None, first.error
    before = await store.find(first.result.document_id)
    path.write_bytes(docx_bomb(300))  # the same file, replaced by a bomb
    [second] = await ingest_all([str(path)], store)
    assert second.error is not None and "over the 100.0 MB limit" in second.error
    after = await store.find(first.result.document_id)
    assert (after.version, after.content_hash, after.chunk_count) == (
        before.version,
        before.content_hash,
        before.chunk_count,
    )
    assert len(await store.list_documents()) == 1
