"""The ``supportbot`` commands over the documents: migrate, ingest, docs (with
``lifecycle``'s ``docs set`` and ``history``), remove, search, reindex and status."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from pathlib import Path

from tqdm import tqdm

from bot.cli import document_messages, lifecycle, messages
from bot.cli.common import EXIT_FAILED, EXIT_OK, Commands, parse_scopes, read_texts
from bot.cli.progress import IngestCounter, Progress
from bot.cli.startup import prepare
from bot.core.cache import redis_client
from bot.service.settings import Settings
from bot.service.wiring import build_embedder, open_engine, open_knowledge_base, redis_url
from knowledge.database import current_revision, describe, head_revision, migrate
from knowledge.ingest import IngestReport, ingest
from knowledge.loading import LinkStyle, plan
from knowledge.samples import SAMPLE_BASE_URL, SAMPLE_DOCS
from knowledge.types import PUBLIC_SCOPE, Query, ScoredChunk


def register(commands: Commands) -> None:
    """Add the document commands to ``commands``."""
    migrate_cmd = commands.add_parser("migrate", help="create or upgrade the database schema")
    migrate_cmd.set_defaults(handler=_migrate)

    ingest_cmd = commands.add_parser("ingest", help="add or update documents")
    ingest_cmd.add_argument("targets", nargs="*", metavar="PATH|URL", help="files, folders, URLs")
    ingest_cmd.add_argument("--sample", action="store_true", help="the bundled sample handbook")
    ingest_cmd.add_argument("--scope", action="append", help="who may see them (repeatable)")
    ingest_cmd.add_argument("--owner", help="the team or person who owns them")
    ingest_cmd.add_argument("--base-url", help="link files as BASE_URL/<path in the folder>")
    ingest_cmd.add_argument(
        "--link-style",
        metavar="STYLE",
        help="pretty (default: no .md/.html, no index or README), html or path; add :mkdocs "
        "for MkDocs anchors. A folder keeps its style for the next ingest",
    )
    ingest_cmd.set_defaults(handler=_ingest)

    docs_cmd = commands.add_parser("docs", help="list the documents, or set one's metadata")
    docs_cmd.add_argument("--json", action="store_true", help="print JSON")
    docs_cmd.add_argument(
        "--check-links", action="store_true", help="check that every document's link opens"
    )
    lifecycle.register(commands, docs_cmd)

    remove_cmd = commands.add_parser("remove", help="remove a document")
    remove_cmd.add_argument("document", metavar="DOC", help="document id, link or title")
    remove_cmd.set_defaults(handler=_remove)

    search_cmd = commands.add_parser("search", help="find the best sections for a question")
    search_cmd.add_argument("query", nargs="?", help="the question")
    search_cmd.add_argument("--k", type=int, help="how many results (default SUPPORTBOT_TOP_K)")
    search_cmd.add_argument("--scope", action="append", help="scopes the asker may see")
    search_cmd.add_argument("--json", action="store_true", help="print JSON")
    search_cmd.add_argument("--batch", type=Path, help="a file with one query per line")
    search_cmd.set_defaults(handler=_search)

    reindex_cmd = commands.add_parser("reindex", help="re-embed everything with the set model")
    reindex_cmd.set_defaults(handler=_reindex)

    status_cmd = commands.add_parser("status", help="check the database, Redis and the corpus")
    status_cmd.set_defaults(handler=_status)


async def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    dimension = build_embedder(settings).dimension
    async with open_engine(settings) as engine:
        before, after = await migrate(engine, embedding_dimension=dimension)
    print(messages.migrated(before, after))
    return EXIT_OK


async def _ingest(settings: Settings, args: argparse.Namespace) -> int:
    targets = list(args.targets)
    base_url = args.base_url
    if args.sample:
        targets.append(str(SAMPLE_DOCS))
        base_url = base_url or SAMPLE_BASE_URL
    if not targets:
        print(messages.error("give files, folders or URLs to ingest, or --sample"), file=sys.stderr)
        return EXIT_FAILED
    try:
        style = LinkStyle.parse(args.link_style) if args.link_style is not None else None
    except ValueError as e:
        print(messages.error(f"--link-style: {e}"), file=sys.stderr)
        return EXIT_FAILED
    progress = Progress()
    embedder = await prepare(settings, progress)
    load_plan = await asyncio.to_thread(plan, targets)
    counter = IngestCounter.of(load_plan)
    reports: list[IngestReport] = []
    async with open_knowledge_base(settings, embedder=embedder) as kb:
        options = dataclasses.replace(
            kb.load_options,
            base_url=base_url,
            link_style=style,
            scopes=parse_scopes(args.scope) if args.scope else None,
            owner=args.owner,
        )
        try:
            with progress.status(counter.line):
                async for report in ingest(
                    targets, kb.store, load_options=options, chunking=kb.chunking
                ):
                    reports.append(report)
                    counter.count(report)
                    stream = sys.stdout if report.result is not None else sys.stderr
                    progress.echo(messages.ingest_line(report), file=stream)
        except asyncio.CancelledError:  # Ctrl-C: each document is committed alone
            stored = sum(1 for r in reports if r.result is not None)
            print(messages.ingest_stopped(stored, counter.documents), file=sys.stderr)
            raise
        version = await kb.store.corpus_version()
    print(messages.ingest_summary(reports, version))
    failed = any(r.result is None and not r.skipped for r in reports)
    return EXIT_FAILED if failed else EXIT_OK


async def _remove(settings: Settings, args: argparse.Namespace) -> int:
    await prepare(settings, Progress(), load_model=False)
    async with open_knowledge_base(settings, check_model=False) as kb:
        document = await kb.store.remove(args.document)
    print(document_messages.removed(document))
    return EXIT_OK


async def _search(settings: Settings, args: argparse.Namespace) -> int:
    texts = read_texts(args.query, args.batch, "a query")
    if texts is None:
        return EXIT_FAILED
    k = args.k or settings.top_k
    scopes = parse_scopes(args.scope) if args.scope else (PUBLIC_SCOPE,)
    embedder = await prepare(settings, Progress())
    async with open_knowledge_base(settings, embedder=embedder) as kb:
        for start in range(0, len(texts), 64):
            queries = [Query(t, k=k, scopes=scopes) for t in texts[start : start + 64]]
            for hits in await kb.retriever.search_many(queries):
                _print_hits(hits, as_json=args.json, batch=args.batch is not None)
    return EXIT_OK


def _print_hits(hits: list[ScoredChunk], *, as_json: bool, batch: bool) -> None:
    if as_json:
        rows = [
            {
                "doc_id": h.document_id,
                "chunk_id": h.chunk_id,
                "title": h.title,
                "section": h.section,
                "heading_path": list(h.heading_path),
                "url": h.url,
                "text": h.text,
                "score": round(h.score, 6),
                "similarity": round(h.similarity, 6),
            }
            for h in hits
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=None if batch else 2))
        return
    if not hits:
        print(messages.no_results())
    for rank, hit in enumerate(hits, 1):
        print(messages.search_hit(rank, hit))
    if batch:
        print()


async def _reindex(settings: Settings, _args: argparse.Namespace) -> int:
    await prepare(settings, Progress(), load_model=False)
    async with open_knowledge_base(settings, check_model=False) as kb:
        with tqdm(desc="Embedding", unit=" chunk", file=sys.stderr, disable=None) as bar:

            def advance(count: int) -> None:
                bar.update(count)

            count = await kb.store.reindex(progress=advance)
    print(messages.reindexed(count, kb.embedder.model))
    return EXIT_OK


async def _status(settings: Settings, _args: argparse.Namespace) -> int:
    facts: dict[str, str] = {}
    async with open_engine(settings) as engine:
        facts["database"] = describe(engine)
        revision = await current_revision(engine)
        facts["schema"] = f"{revision or 'none'} (this version needs {head_revision()})"
    if revision == head_revision():
        async with open_knowledge_base(settings, check_model=False) as kb:
            documents = await kb.store.list_documents()
            facts["documents"] = str(len(documents))
            facts["chunks"] = str(sum(d.chunk_count for d in documents))
            facts["corpus version"] = str(await kb.store.corpus_version())
            facts["embedding model"] = f"{kb.embedder.model} ({kb.embedder.dimension} dimensions)"
    url, embedded = await redis_url(settings)
    facts["redis"] = await _redis_status(url)
    if embedded is not None:
        embedded.stop()
    for line in messages.status_lines(facts):
        print(line)
    return EXIT_OK


async def _redis_status(url: str) -> str:
    import redis

    client = redis_client(url)
    try:
        await client.ping()
        return f"ok ({_redact(url)})"
    except (redis.RedisError, OSError) as e:
        return f"unreachable ({_redact(url)}): {e}"
    finally:
        await client.aclose()


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    if url.startswith("unix://"):
        return url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(redis url)"
