"""A loopback OpenAI-compatible server for driving the real ``openai`` client.

Chat completions: each test scripts the replies: text (a normal completion), an HTTP status
(429, 500, ...), ``HANG`` (never answers in time) or ``MALFORMED`` (a 200 that is not a
completion). When the script runs out, ``default`` answers. ``delay`` slows every answer down
(a slow model). Every request body is kept for assertions. A request with ``"stream": true``
gets the text reply as server-sent events (``tests/fake_openai_stream.py``): ``chunk_chars``
at a time, ``pause`` seconds apart, stalling where the reply says ``STALL``.

Fine-tuning: ``POST /v1/files`` takes a multipart upload and refuses (400) a fine-tuning file
whose lines are not JSON objects with a ``messages`` list; ``uploads`` keeps what was sent.
``POST /v1/fine_tuning/jobs`` refuses an unknown file or a model not in ``fine_tunable``, or
answers the next scripted ``job_failures`` entry. Each ``GET /v1/fine_tuning/jobs/{id}``
moves the job one step along ``job_steps`` (queued → running → succeeded by default; end on
"failed" to fail it with ``job_error``); ``GET …/events`` lists what happened, newest first.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fake_openai_stream import stream_reply
from tests.loopback import serve

HANG = "<hang>"
MALFORMED = "<malformed>"
Reply = str | int
FINE_TUNABLE = ("gpt-4o-mini-2024-07-18", "gpt-4.1-mini-2025-04-14")
QUOTA_EXCEEDED = (
    429,
    "insufficient_quota",
    "You exceeded your current quota, please check your plan and billing details.",
)


@dataclass(frozen=True)
class Upload:
    filename: str
    purpose: str
    content: bytes

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.content.decode().splitlines() if line.strip()]


@dataclass
class Job:
    """A fine-tuning job as the fake keeps it: the request, and how far it has got."""

    id: str
    request: dict[str, Any]
    steps: list[str]
    created_at: int
    polls: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        return (
            self.steps[min(self.polls, len(self.steps)) - 1] if self.polls else "validating_files"
        )


@dataclass
class FakeOpenAI:
    base_url: str = ""
    script: list[Reply] = field(default_factory=list)
    default: Callable[[dict[str, Any]], Reply] = lambda _body: "NOT_COVERED"
    requests: list[dict[str, Any]] = field(default_factory=list)
    # When each request arrived (``time.perf_counter``), for the benchmarks' latencies.
    arrivals: list[float] = field(default_factory=list)
    delay: float = 0.0
    chunk_chars: int = 6
    pause: float = 0.0
    uploads: dict[str, Upload] = field(default_factory=dict)
    fine_tunable: tuple[str, ...] = FINE_TUNABLE
    job_failures: list[tuple[int, str, str]] = field(default_factory=list)
    job_steps: list[str] = field(default_factory=lambda: ["queued", "running", "succeeded"])
    job_error: dict[str, Any] = field(
        default_factory=lambda: {
            "code": "invalid_training_file",
            "message": "The job failed due to an invalid training file.",
            "param": "training_file",
        }
    )
    jobs: dict[str, Job] = field(default_factory=dict)

    def user_prompts(self) -> list[str]:
        return [r["messages"][-1]["content"] for r in self.requests]

    def all_prompts(self) -> list[str]:
        """Every message of every request (system, earlier turns and user)."""
        return [m["content"] for r in self.requests for m in r["messages"]]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrived = time.perf_counter()
        body = await request.json()
        self.requests.append(body)
        self.arrivals.append(arrived)
        reply = self.script.pop(0) if self.script else self.default(body)
        await asyncio.sleep(self.delay)
        if reply == HANG:
            await asyncio.sleep(3)  # longer than the tests' client timeout
        if reply == MALFORMED:
            return web.json_response({"id": "x", "object": "chat.completion", "choices": []})
        if isinstance(reply, int):
            return web.json_response(
                {"error": {"message": "scripted failure", "type": "server_error"}},
                status=reply,
                headers={"retry-after-ms": "10"},
            )
        if body.get("stream"):
            return await stream_reply(
                request, body, reply, chunk_chars=self.chunk_chars, pause=self.pause
            )
        return web.json_response(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
            }
        )

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        file, purpose = form.get("file"), form.get("purpose")
        if not isinstance(file, web.FileField) or not isinstance(purpose, str):
            return _error(400, "'file' and 'purpose' are required", "missing_required_parameter")
        content = file.file.read()
        if purpose == "fine-tune":
            for number, line in enumerate(content.decode(errors="replace").splitlines(), 1):
                if line.strip() and not _chat_example(line):
                    return _error(
                        400,
                        f"Invalid file format for Fine-Tuning API: line {number} is not a JSON "
                        "object with a 'messages' list.",
                        "invalid_file_format",
                    )
        file_id = f"file-{len(self.uploads) + 1:04d}"
        self.uploads[file_id] = Upload(file.filename, purpose, content)
        return web.json_response(
            {
                "id": file_id,
                "object": "file",
                "bytes": len(content),
                "created_at": 1_700_000_000,
                "filename": file.filename,
                "purpose": purpose,
                "status": "processed",
            }
        )

    async def _create_job(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if self.job_failures:
            status, code, message = self.job_failures.pop(0)
            return _error(status, message, code, headers={"retry-after-ms": "10"})
        for key in ("training_file", "validation_file"):
            if body.get(key) is not None and body[key] not in self.uploads:
                return _error(400, f"invalid {key}: {body[key]}", None, param=key)
        if body.get("model") not in self.fine_tunable:
            return _error(
                400,
                f"Model {body.get('model')} is not available for fine-tuning or does not exist.",
                "model_not_available",
                param="model",
            )
        job = Job(f"ftjob-{len(self.jobs) + 1:04d}", body, list(self.job_steps), 1_700_000_000)
        self.jobs[job.id] = job
        self._event(job, "info", f"Created fine-tuning job: {job.id}")
        self._event(job, "info", f"Validating training file: {body['training_file']}")
        return web.json_response(self._job_object(job))

    async def _retrieve_job(self, request: web.Request) -> web.StreamResponse:
        job = self.jobs.get(request.match_info["job_id"])
        if job is None:
            return _error(404, "No such fine-tuning job", None, param="fine_tune_id")
        before = job.status
        job.polls += 1
        if job.status != before:
            self._event(job, *_STATUS_EVENTS[job.status])
        return web.json_response(self._job_object(job))

    async def _job_events(self, request: web.Request) -> web.StreamResponse:
        job = self.jobs.get(request.match_info["job_id"])
        if job is None:
            return _error(404, "No such fine-tuning job", None, param="fine_tune_id")
        limit = int(request.query.get("limit", "20"))
        newest_first = list(reversed(job.events))
        return web.json_response(
            {"object": "list", "data": newest_first[:limit], "has_more": len(newest_first) > limit}
        )

    def _event(self, job: Job, level: str, message: str) -> None:
        job.events.append(
            {
                "id": f"ftevent-{job.id}-{len(job.events) + 1}",
                "object": "fine_tuning.job.event",
                "created_at": job.created_at + 60 * len(job.events),
                "level": level,
                "message": message,
                "data": {},
                "type": "message",
            }
        )

    def _job_object(self, job: Job) -> dict[str, Any]:
        body, status = job.request, job.status
        succeeded = status == "succeeded"
        return {
            "id": job.id,
            "object": "fine_tuning.job",
            "created_at": job.created_at,
            "model": body["model"],
            "organization_id": "org-fake",
            "status": status,
            "training_file": body["training_file"],
            "validation_file": body.get("validation_file"),
            "hyperparameters": {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 1.8},
            "result_files": ["file-results"] if succeeded else [],
            "seed": 42,
            "fine_tuned_model": (
                f"ft:{body['model']}:{body.get('suffix') or 'custom'}:{job.id[-4:]}"
                if succeeded
                else None
            ),
            "trained_tokens": 12_345 if succeeded else None,
            "finished_at": job.created_at + 600 if status in {"succeeded", "failed"} else None,
            "error": self.job_error if status == "failed" else None,
            "estimated_finish": None,
            "integrations": [],
            "metadata": None,
            "method": {"type": "supervised", "supervised": {}},
        }


_STATUS_EVENTS = {
    "queued": ("info", "Fine-tuning job queued"),
    "running": ("info", "Fine-tuning job started"),
    "succeeded": ("info", "The job has successfully completed"),
    "failed": ("error", "The job failed"),
    "cancelled": ("info", "The job was cancelled"),
}


def _chat_example(line: str) -> bool:
    try:
        example = json.loads(line)
    except ValueError:
        return False
    return isinstance(example, dict) and isinstance(example.get("messages"), list)


def _error(
    status: int,
    message: str,
    code: str | None,
    *,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = {
        "error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    }
    return web.json_response(body, status=status, headers=headers)


def leave_answers(body: dict[str, Any]) -> str:
    """A model that knows the test leave policy: rewrites follow-ups, answers with a citation."""
    prompt = body["messages"][-1]["content"]
    if "Employee:" in prompt:  # the follow-up rewrite
        return "Does the 25 days of annual leave include public holidays?"
    return "Everyone gets 25 days of annual leave plus public holidays [1]."


@asynccontextmanager
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    fake = FakeOpenAI()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", fake._handle)
    app.router.add_post("/v1/files", fake._upload)
    app.router.add_post("/v1/fine_tuning/jobs", fake._create_job)
    app.router.add_get("/v1/fine_tuning/jobs/{job_id}", fake._retrieve_job)
    app.router.add_get("/v1/fine_tuning/jobs/{job_id}/events", fake._job_events)
    async with serve(app) as base_url:
        fake.base_url = f"{base_url}/v1"
        yield fake
