"""The server's Prometheus metrics, served at ``/metrics``.

Each replica counts its own work; Prometheus scrapes every pod and sums. The metrics live on
a registry of their own (not the library's global one), so tests and several apps in one
process never see each other's counts.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from bot.core.types import Answer
from knowledge.sources.types import SyncReport

# Answers take from a few milliseconds (cached) to tens of seconds (a slow model).
ANSWER_SECONDS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60)
INGESTION_SECONDS_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """Counters and histograms for answers, the cache, the model and ingestion jobs."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.questions = Counter(
            "supportbot_questions",
            "Questions answered, by chat platform and outcome.",
            ["platform", "outcome"],
            registry=self.registry,
        )
        self.unsure_answers = Counter(
            "supportbot_unsure_answers",
            "Answers that quote sources which may not answer the question, and say so (also "
            "counted as answered), by chat platform.",
            ["platform"],
            registry=self.registry,
        )
        self.answer_seconds = Histogram(
            "supportbot_answer_seconds",
            "Time from question to answer, by chat platform.",
            ["platform"],
            buckets=ANSWER_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.cache_lookups = Counter(
            "supportbot_answer_cache_lookups",
            "Answer cache lookups, by result (hit or miss).",
            ["result"],
            registry=self.registry,
        )
        self.llm_tokens = Counter(
            "supportbot_llm_tokens",
            "Tokens spent on the chat model, by kind (prompt or completion).",
            ["kind"],
            registry=self.registry,
        )
        self.llm_errors = Counter(
            "supportbot_llm_errors",
            "Answers the chat model could not write: quoted from the documents instead, or an "
            "apology.",
            registry=self.registry,
        )
        self.answers_in_flight = Gauge(
            "supportbot_answers_in_flight",
            "Answers being written right now.",
            registry=self.registry,
        )
        self.ingestion_jobs = Counter(
            "supportbot_ingestion_jobs",
            "Background ingestion jobs, by event (queued, succeeded, failed, retried).",
            ["event"],
            registry=self.registry,
        )
        self.ingestion_seconds = Histogram(
            "supportbot_ingestion_seconds",
            "Time an ingestion job ran for.",
            buckets=INGESTION_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.source_syncs = Counter(
            "supportbot_source_syncs",
            "Syncs of sources this replica ran, by source and outcome (ok, partial, failed).",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.source_items = Counter(
            "supportbot_source_items",
            "Items synced from sources, by source and change (added, updated, removed, failed).",
            ["source", "change"],
            registry=self.registry,
        )
        self.source_pages = Gauge(
            "supportbot_source_pages",
            "Pages each source held after the last sync this replica ran.",
            ["source"],
            registry=self.registry,
        )
        self.source_last_success = Gauge(
            "supportbot_source_last_success_timestamp_seconds",
            "When this replica last synced each source without failures (Unix time).",
            ["source"],
            registry=self.registry,
        )
        for outcome in ("answered", "not_covered", "unavailable", "invalid", "limited"):
            for platform in ("slack", "teams"):
                self.questions.labels(platform, outcome)
        for platform in ("slack", "teams"):
            self.unsure_answers.labels(platform)
        for result in ("hit", "miss"):
            self.cache_lookups.labels(result)
        for kind in ("prompt", "completion"):
            self.llm_tokens.labels(kind)
        for event in ("queued", "succeeded", "failed", "retried"):
            self.ingestion_jobs.labels(event)

    def observe_answer(self, platform: str, answer: Answer) -> None:
        self.questions.labels(platform, answer.outcome).inc()
        if answer.unsure:
            self.unsure_answers.labels(platform).inc()
        self.answer_seconds.labels(platform).observe(answer.latency_ms / 1000)
        self.llm_tokens.labels("prompt").inc(answer.usage.prompt_tokens)
        self.llm_tokens.labels("completion").inc(answer.usage.completion_tokens)

    def observe_sync(self, report: SyncReport) -> None:
        """Count a source's sync: its outcome, its changes, and its pages."""
        outcome = "failed" if report.error else "partial" if report.failures else "ok"
        self.source_syncs.labels(report.source, outcome).inc()
        if report.error:
            return
        changes = (("added", report.added), ("updated", report.updated))
        for change, count in (*changes, ("removed", report.removed), ("failed", report.failed)):
            self.source_items.labels(report.source, change).inc(count)
        self.source_pages.labels(report.source).set(report.pages)
        if report.ok:
            self.source_last_success.labels(report.source).set_to_current_time()

    def render(self) -> bytes:
        """The metrics in Prometheus's text exposition format."""
        return generate_latest(self.registry)
