"""Fine-tuning jobs at an OpenAI-compatible API: upload the files, start a job, follow it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import openai

from bot.loop.tuning.api import api_errors

SUFFIX = "supportbot"  # in the tuned model's name: ft:<base>:<org>:supportbot:<id>
FINISHED_BADLY = frozenset({"failed", "cancelled"})


@dataclass(frozen=True)
class StartedJob:
    job_id: str
    base_model: str
    training_file_id: str
    validation_file_id: str | None


@dataclass(frozen=True)
class JobEvent:
    created_at: datetime
    level: str
    message: str


@dataclass(frozen=True)
class JobReport:
    """A job as the API describes it; ``events`` oldest first."""

    job_id: str
    status: str
    base_model: str
    fine_tuned_model: str | None
    trained_tokens: int | None
    error: str | None
    events: tuple[JobEvent, ...]


class FineTuningJobs:
    """Starts and reads fine-tuning jobs; every failure is a ``TuningError`` on one line."""

    def __init__(self, client: openai.AsyncOpenAI) -> None:
        self._client = client

    async def start(self, training: Path, validation: Path | None, base_model: str) -> StartedJob:
        """Upload ``training`` (and ``validation``) and start a job on ``base_model``."""
        training_id = await self._upload(training)
        validation_id = await self._upload(validation) if validation is not None else None
        with api_errors(f"starting a fine-tuning job on {base_model}"):
            job = await self._client.fine_tuning.jobs.create(
                model=base_model,
                training_file=training_id,
                validation_file=validation_id,
                suffix=SUFFIX,
            )
        return StartedJob(job.id, job.model, training_id, validation_id)

    async def _upload(self, path: Path) -> str:
        with api_errors(f"uploading {path}"):
            uploaded = await self._client.files.create(file=path, purpose="fine-tune")
        return uploaded.id

    async def report(self, job_id: str, *, events: int = 10) -> JobReport:
        """The job's state and its latest ``events``."""
        with api_errors(f"reading fine-tuning job {job_id}"):
            job = await self._client.fine_tuning.jobs.retrieve(job_id)
            page = await self._client.fine_tuning.jobs.list_events(job_id, limit=events)
        # The API lists newest first; reversed, ties in time stay in the order they happened.
        latest = sorted(reversed(page.data), key=lambda e: e.created_at)
        return JobReport(
            job_id=job.id,
            status=job.status,
            base_model=job.model,
            fine_tuned_model=job.fine_tuned_model,
            trained_tokens=job.trained_tokens,
            error=job.error.message if job.error and job.error.message else None,
            events=tuple(
                JobEvent(datetime.fromtimestamp(e.created_at, UTC), e.level, e.message)
                for e in latest
            ),
        )
