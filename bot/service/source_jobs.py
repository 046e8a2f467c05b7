"""Syncing sources on the job queue: each source on its interval, and one on demand
(``/kb sync NAME``), reporting to the admin who asked.

A periodic job every minute syncs the sources whose interval has passed since their last
sync; procrastinate defers it once per minute whichever replicas run workers, and its lock
keeps two from running at once. A sync run again after a crash finds the items it already
stored unchanged. The same job clears finished jobs older than a day from the queue's table,
which would otherwise gain a row a minute.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import procrastinate

from bot.core.types import ReplyTo
from bot.platforms import source_messages
from bot.platforms.delivery import Reporter
from bot.service.jobs import QUEUE, IngestionJobs, TaskRegistration
from bot.service.metrics import Metrics
from knowledge.sources.connector import UnknownSourceError
from knowledge.sources.manager import SourceManager

log = logging.getLogger(__name__)

SYNC_TASK = "supportbot.sync_source"
DUE_TASK = "supportbot.sync_due_sources"
DUE_LOCK = "sources:due"
FINISHED_JOBS_KEPT_HOURS = 24


class SourceJobs:
    """Queues source syncs and registers the tasks that run them."""

    def __init__(self, jobs: IngestionJobs, manager: SourceManager, metrics: Metrics) -> None:
        self._jobs = jobs
        self._manager = manager
        self._metrics = metrics

    async def submit(self, name: str, reply_to: ReplyTo) -> int | None:
        """Queue a sync of the source ``name``; None when one is queued already. Raises
        ``JobQueueError``."""
        return await self._jobs.defer(
            SYNC_TASK,
            f"source:{name}",
            name=name,
            reply_to={"platform": reply_to.platform, "address": dict(reply_to.address)},
        )

    def tasks(self, reporter: Reporter) -> TaskRegistration:
        """What registers the sync tasks with a replica's workers."""
        manager, metrics = self._manager, self._metrics

        def register(app: procrastinate.App) -> None:
            async def sync_one(name: str, reply_to: dict[str, Any]) -> None:
                destination = ReplyTo(reply_to["platform"], reply_to.get("address") or {})
                try:
                    report = await manager.sync(name)
                except UnknownSourceError:
                    await reporter.report(destination, source_messages.unknown_source(name))
                    return
                metrics.observe_sync(report)
                await reporter.report(destination, source_messages.synced(report))

            async def sync_due(timestamp: int) -> None:
                started = time.perf_counter()
                for report in await manager.sync_all(due_only=True):
                    metrics.observe_sync(report)
                await app.job_manager.delete_old_jobs(FINISHED_JOBS_KEPT_HOURS, queue=QUEUE)
                log.debug("due sources synced in %.1f s", time.perf_counter() - started)

            app.task(name=SYNC_TASK, queue=QUEUE)(sync_one)
            app.periodic(cron="* * * * *")(
                app.task(name=DUE_TASK, queue=QUEUE, lock=DUE_LOCK, queueing_lock=DUE_LOCK)(
                    sync_due
                )
            )

        return register
