"""``supportbot sources``: add, list, sync and remove the sources that stay in sync."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from bot.cli import messages, source_messages
from bot.cli.common import EXIT_FAILED, EXIT_OK, Commands, jsonable, parse_scopes
from bot.cli.progress import Progress
from bot.cli.startup import prepare
from bot.service.settings import Settings
from bot.service.source_wiring import source_manager
from bot.service.wiring import open_knowledge_base
from knowledge.sources.types import SourceStatus
from knowledge.types import PUBLIC_SCOPE

_INTERVAL = re.compile(r"^(\d+)\s*(m|min|h|d)?$")
_UNIT_SECONDS = {None: 60, "m": 60, "min": 60, "h": 3600, "d": 86_400}


def register(commands: Commands) -> None:
    """Add ``sources`` and its subcommands to ``commands``."""
    sources = commands.add_parser("sources", help="sources that stay in sync (websites…)")
    actions = sources.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="add a source: KIND NAME [options]")
    add.add_argument("kind", metavar="KIND", help="web, confluence, notion, sharepoint or gdrive")
    add.add_argument("name", metavar="NAME", help="its name: letters, digits, - and _")
    add.add_argument("--sitemap", metavar="URL", help="web: the pages this sitemap lists")
    add.add_argument("--start", metavar="URL", help="web: crawl from this page")
    add.add_argument("--prefix", metavar="PATH", help="web: crawl only under this path")
    add.add_argument("--max-pages", type=int, metavar="N", help="web: at most N pages")
    add.add_argument("--site", metavar="URL", help="confluence: https://NAME.atlassian.net")
    add.add_argument("--space", metavar="KEY", help="confluence: the space's key")
    add.add_argument("--database", metavar="ID", help="notion: the database's id")
    add.add_argument("--drive", metavar="ID", help="sharepoint: the Graph drive (library) id")
    add.add_argument(
        "--folder",
        metavar="PATH|ID",
        help="sharepoint: only files under this folder; gdrive: its id",
    )
    add.add_argument("--scope", action="append", help="who may see its documents (repeatable)")
    add.add_argument(
        "--interval",
        metavar="EVERY",
        help="how often to sync: minutes, or 30m, 2h, 1d (default SUPPORTBOT_SOURCE_INTERVAL_"
        "MINUTES)",
    )
    add.set_defaults(handler=_add)

    listing = actions.add_parser("list", help="the sources and how their last sync went")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_list)

    sync = actions.add_parser("sync", help="sync one source now, or all of them")
    sync.add_argument("name", nargs="?", metavar="NAME")
    sync.set_defaults(handler=_sync)

    remove = actions.add_parser("remove", help="remove a source and its documents")
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(handler=_remove)


def interval_seconds(text: str) -> int:
    """``90``, ``30m``, ``2h`` or ``1d`` in seconds; raises ``ValueError``."""
    match = _INTERVAL.match(text.strip().lower())
    if not match:
        raise ValueError(f"--interval {text!r}: give minutes, or a number with m, h or d")
    return int(match[1]) * _UNIT_SECONDS[match[2]]


async def _add(settings: Settings, args: argparse.Namespace) -> int:
    try:
        every = (
            interval_seconds(args.interval)
            if args.interval
            else settings.source_interval_minutes * 60
        )
    except ValueError as e:
        print(messages.error(str(e)), file=sys.stderr)
        return EXIT_FAILED
    options = {
        "sitemap": args.sitemap,
        "start": args.start,
        "prefix": args.prefix,
        "max_pages": args.max_pages,
        "site": args.site,
        "space": args.space,
        "database": args.database,
        "drive": args.drive,
        "folder": args.folder,
    }
    scopes = parse_scopes(args.scope) if args.scope else (PUBLIC_SCOPE,)
    await prepare(settings, Progress(), load_model=False)
    async with open_knowledge_base(settings, check_model=False) as kb:
        config = await source_manager(settings, kb).add(
            args.kind, args.name, options, scopes, every
        )
    print(source_messages.added(config))
    return EXIT_OK


async def _list(settings: Settings, args: argparse.Namespace) -> int:
    await prepare(settings, Progress(), load_model=False)
    async with open_knowledge_base(settings, check_model=False) as kb:
        statuses = await source_manager(settings, kb).statuses()
    if args.json:
        print(json.dumps([status_json(s) for s in statuses], indent=2, ensure_ascii=False))
    elif not statuses:
        print(source_messages.no_sources())
    for status in statuses if not args.json else ():
        print(source_messages.status_row(status))
    return EXIT_OK


def status_json(status: SourceStatus) -> Any:
    """One source in ``sources list --json`` (its settings hold no credentials)."""
    config = status.config
    return jsonable(
        {
            "name": config.name,
            "kind": config.kind,
            "settings": dict(config.settings),
            "scopes": config.scopes,
            "interval_seconds": config.interval_seconds,
            "created_at": status.created_at,
            "last_sync_at": status.last_sync_at,
            "last_success_at": status.last_success_at,
            "last_error": status.last_error,
            "pages": status.pages,
            "added": status.added,
            "updated": status.updated,
            "removed": status.removed,
            "failed": status.failed,
        }
    )


async def _sync(settings: Settings, args: argparse.Namespace) -> int:
    progress = Progress()
    embedder = await prepare(settings, progress)
    async with open_knowledge_base(settings, embedder=embedder) as kb:
        manager = source_manager(settings, kb)
        with progress.status(source_messages.syncing):
            if args.name:
                reports = [await manager.sync(args.name)]
            else:
                reports = await manager.sync_all()
    for report in reports:
        stream = sys.stdout if report.error is None else sys.stderr
        print(source_messages.sync_line(report), file=stream)
        for failure in report.failures:
            print(source_messages.failure_line(report.source, failure), file=sys.stderr)
    if len(reports) > 1:
        print(source_messages.sync_summary(reports))
    return EXIT_OK if all(r.ok for r in reports) else EXIT_FAILED


async def _remove(settings: Settings, args: argparse.Namespace) -> int:
    await prepare(settings, Progress(), load_model=False)
    async with open_knowledge_base(settings, check_model=False) as kb:
        count = await source_manager(settings, kb).remove(args.name)
    print(source_messages.removed(args.name, count))
    return EXIT_OK
