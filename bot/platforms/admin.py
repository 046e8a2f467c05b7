"""Knowledge-base administration from chat: ``kb add|remove|list|stale|help`` and uploaded
files.

Platform-neutral: adapters check that the sender is an admin, pass the command text (or an
uploaded file) here, and post the Markdown reply back in their own format. ``add`` of a URL
becomes a background job (``queue_add``) when a job queue is given; its worker calls
``ingest``.

Chat may add http(s) links and files sent to the bot, nothing else: links and Teams' file
downloads go through the knowledge base's guarded fetcher, and nothing typed in chat is read as
a path on the server (that is the command line's, for the operator).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from bot.core.knowledge_base import KnowledgeBase
from bot.core.types import ReplyTo
from bot.platforms import admin_messages, source_messages
from bot.service.jobs import IngestionJobs, JobQueueError
from bot.service.source_jobs import SourceJobs
from bot.service.upload_jobs import UploadJobs
from bot.service.uploads import Upload
from knowledge.errors import DocumentNotFoundError, KnowledgeError, LoadError
from knowledge.ingest import IngestReport, ingest
from knowledge.loading import RawSource
from knowledge.loading.guarded_fetch import FetchRefused, is_web_link
from knowledge.loading.sources import uploaded, web_source
from knowledge.sources.connector import UnknownSourceError
from knowledge.sources.manager import SourceManager
from knowledge.types import StoredDocument

log = logging.getLogger(__name__)

Action = Literal["add", "remove", "list", "stale", "gaps", "help", "sources", "sync", "console"]
# The commands that become background jobs when there is a job queue.
QUEUED: tuple[Action, ...] = ("add", "sync")
# Slack sends links in command text as <https://x|label> or <https://x> when escaping is on.
_SLACK_LINK = re.compile(r"^<([^|>]+)(?:\|[^>]*)?>$")
_SCOPE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class AdminCommand:
    action: Action
    argument: str = ""
    scopes: tuple[str, ...] = ()


class AdminCommandError(ValueError):
    """The command text cannot be understood; the message says how to write it."""


def parse_admin_command(text: str) -> AdminCommand:
    """``add <url> [scope ...]``, ``remove <doc id|link|title>``, ``list``, ``stale``, ``gaps``,
    ``sources``, ``sync <name>``, ``console``, ``help`` (or empty). ``gaps`` and ``console`` are
    the adapters' to answer: they need buttons and forms, and a private reply."""
    words = text.split()
    if not words or words[0].lower() == "help":
        return AdminCommand("help")
    action, rest = words[0].lower(), words[1:]
    if action == "list":
        return AdminCommand("list")
    if action == "stale":
        return AdminCommand("stale")
    if action == "gaps":
        return AdminCommand("gaps")
    if action == "console":
        return AdminCommand("console")
    if action == "sources":
        return AdminCommand("sources")
    if action == "sync":
        if len(rest) != 1:
            raise AdminCommandError(source_messages.sync_usage())
        return AdminCommand("sync", rest[0].lower())
    if action == "add":
        if not rest:
            raise AdminCommandError(admin_messages.admin_usage_add())
        scopes, target = parse_scopes(rest[1:]), _unwrap_link(rest[0])
        if not is_web_link(target):
            raise AdminCommandError(admin_messages.admin_usage_add())
        return AdminCommand("add", target, scopes)
    if action == "remove":
        if not rest:
            raise AdminCommandError(admin_messages.admin_usage_remove())
        return AdminCommand("remove", " ".join(_unwrap_link(w) for w in rest))
    raise AdminCommandError(admin_messages.admin_unknown_command(action))


def parse_scopes(words: Sequence[str]) -> tuple[str, ...]:
    """Scope names as typed (any case); raises ``AdminCommandError`` naming a bad one."""
    scopes = tuple(dict.fromkeys(w.lower().strip(",") for w in words if w.strip(",")))
    bad = [s for s in scopes if not _SCOPE.match(s)]
    if bad:
        raise AdminCommandError(admin_messages.admin_bad_scope(bad[0]))
    return scopes


def _unwrap_link(word: str) -> str:
    match = _SLACK_LINK.match(word)
    return match.group(1) if match else word


class KnowledgeAdmin:
    """Runs admin commands against the knowledge base; every reply is one Markdown message."""

    def __init__(
        self,
        kb: KnowledgeBase,
        jobs: IngestionJobs | None = None,
        sources: SourceManager | None = None,
        source_jobs: SourceJobs | None = None,
        uploads: UploadJobs | None = None,
    ) -> None:
        self._kb = kb
        self._jobs = jobs
        self._sources = sources
        self._source_jobs = source_jobs
        self._uploads = uploads

    async def queue(self, command: AdminCommand, reply_to: ReplyTo) -> str:
        """Queue ``add`` or ``sync`` as a background job (run it here without a queue)."""
        if command.action == "add":
            return await self.queue_add(command, reply_to)
        if self._source_jobs is None or self._sources is None:
            return await self.run(command)
        try:
            await self._sources.status(command.argument)
            job_id = await self._source_jobs.submit(command.argument, reply_to)
        except UnknownSourceError:
            return source_messages.unknown_source(command.argument)
        except JobQueueError as e:
            log.warning("cannot queue kb sync %s: %s", command.argument, e)
            return admin_messages.jobs_unavailable(str(e))
        if job_id is None:
            return source_messages.sync_already_queued(command.argument)
        return source_messages.sync_queued(command.argument, job_id)

    @property
    def knowledge_base(self) -> KnowledgeBase:
        return self._kb

    async def queue_add(self, command: AdminCommand, reply_to: ReplyTo) -> str:
        """Queue ``add`` as a background job (run it here when there is no queue)."""
        if self._jobs is None:
            return await self.run(command)
        try:
            job_id = await self._jobs.submit(command.argument, command.scopes, reply_to)
        except JobQueueError as e:
            log.warning("cannot queue kb add %s: %s", command.argument, e)
            return admin_messages.jobs_unavailable(str(e))
        if job_id is None:
            return admin_messages.job_already_queued(command.argument)
        return admin_messages.job_queued(command.argument, job_id)

    async def run(self, command: AdminCommand) -> str:
        try:
            if command.action == "add":
                return await self.ingest(command.argument, command.scopes)
            if command.action == "remove":
                return admin_messages.admin_removed(await self._kb.store.remove(command.argument))
            if command.action == "list":
                return admin_messages.admin_document_list(await self._kb.store.list_documents())
            if command.action == "stale":
                return admin_messages.admin_stale(await self.overdue())
            if command.action in ("sources", "sync") and self._sources is not None:
                return await self._run_sources(command, self._sources)
            return admin_messages.admin_help()
        except DocumentNotFoundError:
            return admin_messages.admin_not_found(command.argument)
        except KnowledgeError as e:
            log.warning("kb %s failed: %s", command.action, e)
            return admin_messages.admin_failed(str(e))

    async def _run_sources(self, command: AdminCommand, sources: SourceManager) -> str:
        if command.action == "sources":
            return source_messages.sources_list(await sources.statuses())
        try:
            return source_messages.synced(await sources.sync(command.argument))
        except UnknownSourceError:
            return source_messages.unknown_source(command.argument)

    async def overdue(self) -> list[StoredDocument]:
        """The documents whose review date has passed (UTC), the longest overdue first."""
        today = datetime.now(UTC).date()
        documents = await self._kb.store.list_documents()
        overdue = [d for d in documents if d.review_overdue(today)]
        return sorted(overdue, key=lambda d: (d.review_by, d.title.lower()))

    async def queue_upload(self, upload: Upload, reply_to: ReplyTo) -> str:
        """Store a file someone sent the bot and queue its ingestion (a job reports on it);
        ingest it here when there is no queue. The file's size was checked on download."""
        if self._uploads is None:
            source = uploaded(
                upload.name, upload.data, link=upload.link, max_bytes=len(upload.data)
            )
            return await self.ingest_upload(source)
        try:
            queued = await self._uploads.submit(upload, reply_to)
        except JobQueueError as e:
            log.warning("cannot queue an uploaded file: %s", e)
            return admin_messages.jobs_unavailable(str(e))
        except KnowledgeError as e:
            log.warning("cannot store an uploaded file: %s", e)
            return admin_messages.admin_failed(str(e))
        if queued == "queued":
            return admin_messages.upload_queued(upload.name)
        if queued == "waiting":
            return admin_messages.upload_waiting(upload.name)
        return admin_messages.upload_finished(upload.name)

    async def ingest_upload(self, source: RawSource) -> str:
        """Ingest a file someone sent the bot."""
        try:
            return await self.ingest(source, ())
        except KnowledgeError as e:
            log.warning("ingesting an uploaded file failed: %s", e)
            return admin_messages.admin_failed(str(e))

    async def download(self, url: str) -> bytes:
        """A file's bytes from a download link a chat platform gave; raises ``FetchRefused``."""
        return (await self._kb.guarded_fetcher.fetch(url)).data

    async def ingest(self, target: str | RawSource, scopes: tuple[str, ...]) -> str:
        """Add or update one document from an http(s) link or an uploaded file; the reply says
        what happened to it.

        A source that cannot be loaded is part of the reply. Raises ``KnowledgeError`` when
        the database or the embedder is down, which is worth trying again.
        """
        if isinstance(target, str):
            url = target
            # Also checked when the command is parsed; a job queued before then comes here.
            if not is_web_link(url):
                return admin_messages.admin_usage_add()
            try:
                target = web_source(await self._kb.guarded_fetcher.fetch(url))
            except FetchRefused:
                return admin_messages.fetch_refused(url)
            except LoadError as e:
                return admin_messages.admin_ingested([IngestReport(url, error=str(e))])
        options = dataclasses.replace(self._kb.load_options, scopes=scopes or None)
        reports: list[IngestReport] = [
            report
            async for report in ingest(
                [target], self._kb.store, load_options=options, chunking=self._kb.chunking
            )
        ]
        return admin_messages.admin_ingested(reports)
