"""The ``supportbot`` commands over a document's life: ``docs set`` (owner, dates, status, what
it supersedes), ``history`` (its versions) and the document listing with both."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import UTC, date, datetime

from bot.cli import document_messages, messages
from bot.cli.common import EXIT_FAILED, EXIT_OK, Commands, jsonable
from bot.cli.link_check import check_document_links
from bot.cli.progress import Progress
from bot.cli.startup import prepare
from bot.service.settings import Settings
from bot.service.wiring import open_knowledge_base
from knowledge.types import STATUSES, MetadataChange, StoredDocument


def register(commands: Commands, docs_cmd: argparse.ArgumentParser) -> None:
    """Add ``docs set`` under ``docs_cmd``, and ``history``, to ``commands``."""
    docs_cmd.set_defaults(handler=_docs)
    actions = docs_cmd.add_subparsers(dest="docs_action", metavar="ACTION")
    set_cmd = actions.add_parser("set", help="set a document's owner, dates or status")
    set_cmd.add_argument("document", metavar="DOC", help="document id, link or title")
    set_cmd.add_argument("--owner", help="who owns it (an e-mail or chat id)")
    set_cmd.add_argument("--effective", metavar="YYYY-MM-DD", help="when it takes effect")
    set_cmd.add_argument("--review-by", metavar="YYYY-MM-DD", help="when it must be reviewed")
    set_cmd.add_argument("--status", help="one of " + ", ".join(STATUSES))
    set_cmd.add_argument("--supersedes", metavar="DOC", help="the document it replaces")
    set_cmd.add_argument(
        "--clear",
        action="append",
        choices=tuple(_CLEARABLE),
        default=[],
        help="leave the document without this (its file's value too); repeatable",
    )
    set_cmd.set_defaults(handler=_set)

    history_cmd = commands.add_parser("history", help="a document's versions, newest first")
    history_cmd.add_argument("document", metavar="DOC", help="document id, link or title")
    history_cmd.set_defaults(handler=_history)


# --clear's names for the fields of MetadataChange.
_CLEARABLE = {
    "owner": "owner",
    "effective": "effective_date",
    "review-by": "review_by",
    "supersedes": "supersedes",
}


def today() -> date:
    """The day reviews are due against (UTC)."""
    return datetime.now(UTC).date()


def document_json(document: StoredDocument, on: date) -> dict[str, object]:
    """A document as ``docs --json`` prints it."""
    fields: dict[str, object] = jsonable(dataclasses.asdict(document))
    return fields | {
        "effective": fields["effective_date"],
        "review_overdue": document.review_overdue(on),
    }


async def _docs(settings: Settings, args: argparse.Namespace) -> int:
    if args.check_links:
        return await check_document_links(settings, as_json=args.json)
    await prepare(settings, Progress(), load_model=False)
    async with open_knowledge_base(settings, check_model=False) as kb:
        documents = await kb.store.list_documents()
    on = today()
    if args.json:
        print(json.dumps([document_json(d, on) for d in documents], indent=2))
    elif not documents:
        print(document_messages.no_documents())
    else:
        for document in documents:
            print(document_messages.document_row(document, on))
    return EXIT_OK


async def _set(settings: Settings, args: argparse.Namespace) -> int:
    try:
        clear = [_CLEARABLE[name] for name in args.clear]
        if args.owner is not None and not args.owner.strip():
            clear.append("owner")  # --owner '' leaves the document without one
        change = MetadataChange(
            owner=args.owner.strip() or None if args.owner is not None else None,
            effective_date=_date(args.effective, "--effective"),
            review_by=_date(args.review_by, "--review-by"),
            status=_status(args.status),
            supersedes=args.supersedes,
            clear=tuple(dict.fromkeys(clear)),
        )
    except ValueError as e:
        print(messages.error(str(e)), file=sys.stderr)
        return EXIT_FAILED
    if change == MetadataChange():
        print(messages.error(document_messages.nothing_to_set()), file=sys.stderr)
        return EXIT_FAILED
    await prepare(settings, Progress(), load_model=False)
    async with open_knowledge_base(settings, check_model=False) as kb:
        document = await kb.store.set_metadata(args.document, change)
    print(document_messages.metadata_set(document, today()))
    return EXIT_OK


async def _history(settings: Settings, args: argparse.Namespace) -> int:
    await prepare(settings, Progress(), load_model=False)
    async with open_knowledge_base(settings, check_model=False) as kb:
        document, versions = await kb.store.history(args.document)
    print(document_messages.history_heading(document, len(versions)))
    for version in versions:
        print(document_messages.version_line(version))
    return EXIT_OK


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{option} {value!r} is not a date (YYYY-MM-DD)") from None


def _status(value: str | None) -> str | None:
    if value is None:
        return None
    status = value.strip().lower()
    if status not in STATUSES:
        raise ValueError(f"--status {value!r} is not one of {', '.join(STATUSES)}")
    return status
