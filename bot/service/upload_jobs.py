"""Files sent to the bot, ingested by a job on the queue that every replica shares.

The replica that receives a file downloads it (size-capped), stores its bytes in Postgres
(``bot.service.uploads``) and queues a job keyed by the platform's file id; any replica's
worker ingests it, reports to the admin in the chat it came from, and drops the bytes. The
same file delivered twice (a redelivered event, a message replayed after its replica died)
queues no second job and adds no second document, and a job run again after its worker died
finds the bytes still there, or finds them gone because the document was stored.

A file the loaders cannot read is reported with the loader's reason, like a link that cannot
be loaded; its bytes are dropped too, since trying again cannot help. A job that gives up
(the database or the embedder kept failing) removes the file, so the admin can send it
again. A daily job forgets finished uploads after ``KEPT_DAYS``, and removes the bytes of
those whose job was never queued (their replica died in between, and nothing replayed the
message).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import procrastinate
from procrastinate.job_context import JobContext

from bot.core.types import ReplyTo
from bot.platforms import admin_messages, messages
from bot.platforms.delivery import Reporter
from bot.service.jobs import QUEUE, IngestionJobs, TaskRegistration
from bot.service.metrics import Metrics
from bot.service.uploads import PgUploads, Upload
from knowledge.errors import LoadError
from knowledge.loading import RawSource, uploaded

log = logging.getLogger(__name__)

UPLOAD_TASK = "supportbot.ingest_upload"
CLEAR_TASK = "supportbot.clear_uploads"
LOCK_PREFIX = "upload:"
# How long a finished upload is remembered (a message replayed later than that would ingest
# its file again, and find the document unchanged), and how long bytes whose job was never
# queued are kept.
KEPT_DAYS = 7

IngestUpload = Callable[[RawSource], Awaitable[str]]
Queued = Literal["queued", "waiting", "finished"]
"""``queued``: a job will ingest the file; ``waiting``: one was queued for it before;
``finished``: it was ingested (or given up on) already."""


class UploadJobs:
    """Stores files sent to the bot and queues their ingestion; registers the task that runs it."""

    def __init__(
        self, jobs: IngestionJobs, uploads: PgUploads, metrics: Metrics, max_bytes: int
    ) -> None:
        self._jobs = jobs
        self._uploads = uploads
        self._metrics = metrics
        self._max_bytes = max_bytes

    async def submit(self, upload: Upload, reply_to: ReplyTo) -> Queued:
        """Store ``upload`` and queue its ingestion, unless that was done before. Raises
        ``JobQueueError`` (nothing is kept then) or ``DatabaseUnavailableError``."""
        stored = await self._uploads.store(upload)
        lock = f"{LOCK_PREFIX}{upload.key}"
        if stored == "finished":
            return "finished"
        # Stored before: its job is queued or running, or the replica that stored it died
        # before queueing one.
        if stored == "waiting" and await self._jobs.pending(lock):
            return "waiting"
        try:
            job_id = await self._jobs.defer(
                UPLOAD_TASK,
                lock,
                key=upload.key,
                reply_to={"platform": reply_to.platform, "address": dict(reply_to.address)},
            )
        except Exception:
            if stored == "new":
                await self._uploads.forget(upload.key)
            raise
        if job_id is None:
            return "waiting"
        self._metrics.ingestion_jobs.labels("queued").inc()
        return "queued"

    def tasks(self, ingest: IngestUpload, reporter: Reporter) -> TaskRegistration:
        """What registers the upload task with a replica's workers."""
        uploads, metrics, max_bytes = self._uploads, self._metrics, self._max_bytes
        options = self._jobs.options

        async def ingest_upload(context: JobContext, key: str, reply_to: dict[str, Any]) -> None:
            destination = ReplyTo(reply_to["platform"], reply_to.get("address") or {})
            upload = await uploads.waiting(key)
            if upload is None:  # ingested by an earlier run of this job
                return
            attempt = context.job.attempts + 1
            await reporter.report(destination, admin_messages.job_started(upload.name, attempt))
            try:
                source = uploaded(upload.name, upload.data, link=upload.link, max_bytes=max_bytes)
            except LoadError as e:
                await uploads.finish(key)
                await reporter.report(destination, messages.upload_failed(upload.name, e.reason))
                return
            try:
                result = await ingest(source)
            except Exception as e:
                log.warning("upload job %s attempt %d failed: %s", context.job.id, attempt, e)
                if attempt >= options.max_attempts:
                    metrics.ingestion_jobs.labels("failed").inc()
                    await uploads.forget(key)
                    failed = admin_messages.job_failed(upload.name, attempt)
                    await reporter.report(destination, failed)
                else:
                    metrics.ingestion_jobs.labels("retried").inc()
                raise
            await uploads.finish(key)
            metrics.ingestion_jobs.labels("succeeded").inc()
            await reporter.report(destination, result)

        async def clear_uploads(timestamp: int) -> None:
            cleared = await uploads.clear_old(KEPT_DAYS, LOCK_PREFIX)
            log.debug("cleared %d old uploads", cleared)

        def register(app: procrastinate.App) -> None:
            app.periodic(cron="23 4 * * *")(
                app.task(name=CLEAR_TASK, queue=QUEUE, lock=CLEAR_TASK, queueing_lock=CLEAR_TASK)(
                    clear_uploads
                )
            )
            app.task(
                name=UPLOAD_TASK,
                queue=QUEUE,
                pass_context=True,
                retry=procrastinate.RetryStrategy(
                    max_attempts=options.max_attempts - 1,
                    wait=options.retry_seconds,
                    linear_wait=options.retry_seconds,
                ),
            )(ingest_upload)

        return register
