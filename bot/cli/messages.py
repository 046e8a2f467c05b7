"""Every sentence the command line prints, outside an answer."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot.core.coverage import SIGNALS
from bot.evaluation.decline_fit import DeclineFit
from bot.evaluation.quoting_fit import QuotingFit
from bot.evaluation.ranking_fit import RankingFit
from knowledge.ingest import IngestReport
from knowledge.types import ScoredChunk
from knowledge.weights import LinearModel

ERROR_PREFIX = "supportbot: error: "


def error(message: str) -> str:
    return f"{ERROR_PREFIX}{message}"


def migrated(before: str | None, after: str) -> str:
    if before == after:
        return f"Database schema is up to date (revision {after})."
    return f"Database schema upgraded from {before or 'empty'} to revision {after}."


def ingest_line(report: IngestReport) -> str:
    if report.skipped:
        return f"skipped    {report.error}"
    if report.result is None:
        return f"failed     {report.error}"
    result = report.result
    return (
        f"{result.status:<10} {result.title} ({result.section_count} sections, "
        f"{result.chunk_count} chunks, {result.embedded_count} embedded) ← {report.source}"
        + (f"; warning: {result.warning}" if result.warning else "")
    )


def ingest_summary(reports: list[IngestReport], corpus_version: int | None) -> str:
    stored = [r.result for r in reports if r.result is not None]
    failed = [r for r in reports if r.result is None and not r.skipped]
    skipped = [r for r in reports if r.skipped]
    statuses = ("added", "updated", "relinked", "unchanged")
    counts = {s: sum(1 for r in stored if r.status == s) for s in statuses}
    detail = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    parts = [f"Ingested {len(stored)} document{'s' if len(stored) != 1 else ''}"
             + (f" ({detail})" if detail else "")]  # fmt: skip
    if failed:
        parts.append(f"{len(failed)} failed: " + ", ".join(r.source for r in failed))
    if skipped:
        parts.append(f"{len(skipped)} skipped")
    if corpus_version is not None:
        parts.append(f"corpus version {corpus_version}")
    return "; ".join(parts) + "."


def no_results() -> str:
    return "No section is close enough to that question."


def search_hit(rank: int, hit: ScoredChunk, *, snippet_chars: int = 240) -> str:
    snippet = " ".join(hit.text.split())
    if len(snippet) > snippet_chars:
        snippet = snippet[: snippet_chars - 1].rstrip() + "…"
    where = " › ".join([hit.title, *[h for h in hit.heading_path if h != hit.title]])
    return (
        f"{rank}. {where}  (score {hit.score:.4f}, similarity {hit.similarity:.2f})\n"
        f"   {hit.url}\n   {snippet}"
    )


def reindexed(count: int, model: str) -> str:
    return f"Re-embedded {count} distinct chunk texts with {model}."


def status_lines(facts: dict[str, str]) -> list[str]:
    width = max(len(k) for k in facts)
    return [f"{key:<{width}}  {value}" for key, value in facts.items()]


def answer_block(text: str, citations: list[tuple[int, str, str, str]]) -> str:
    """An answer for the terminal: the text, then its numbered sources (n, where, url, note)."""
    lines = [text]
    if citations:
        lines += ["", "Sources:"]
        lines += [
            f"  [{n}] {where}  {url}" + (f"  ({note})" if note else "")
            for n, where, url, note in citations
        ]
    return "\n".join(lines)


CHAT_WELCOME = (
    "Ask a question about our policies. Follow-ups remember the conversation; "
    "/new starts a new one, /quit (or Ctrl-D) leaves."
)


CHAT_NEW_THREAD = "(new conversation)"


# After a streamed draft that the checked answer replaces (declined, uncited, or cut short).
CHAT_INSTEAD = "(On checking, instead:)"


def demo_loaded(documents: int) -> str:
    return f"Loaded the sample handbook: {documents} documents."


def demo_loading(documents: int) -> str:
    return (
        f"Loading the sample handbook ({documents} documents) while you ask: "
        "answers use the documents loaded so far."
    )


def demo_partial(stored: int, documents: int) -> str:
    return (
        f"(From the {stored} of {documents} documents loaded so far; "
        "if the rest change the answer, I'll say so.)"
    )


def demo_better_answer(question: str) -> str:
    return f"With the whole handbook loaded, a better answer to “{question}”:"


def demo_waiting(stored: int, documents: int) -> str:
    if stored == 0:
        return f"None of the {documents} documents is loaded yet: answering once they are…"
    return (
        f"Not in the {stored} of {documents} documents loaded so far: "
        "looking again once the rest are loaded…"
    )


def step_done(done: str, seconds: float) -> str:
    return f"✓ {done} ({seconds:.1f} s)"


def ingest_progress(
    done: int, documents: int, sections: int, seconds_left: float | None, *, answerable: bool
) -> str:
    left = "estimating time left" if seconds_left is None else f"{_duration(seconds_left)} left"
    line = f"Ingesting {done}/{documents} documents · {sections} sections · {left}"
    return line + " · stored ones are answerable now" if answerable else line


def ingest_stopped(stored: int, documents: int) -> str:
    return (
        f"Stopped after {stored} of {documents} documents; those are stored and answerable. "
        "Run the same command again to continue: stored documents are not embedded again."
    )


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"about {max(round(seconds), 1)} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"about {minutes} min {rest:02d} s"


def eval_written(results: Path, html: Path | None) -> str:
    report = f" and the report to {html}" if html else ""
    return f"Wrote each question's results to {results}{report}."


def decline_fitted(fit: DeclineFit) -> str:
    model = fit.model
    sure = "" if model.sure is None else f", unsure below {model.sure:.3f}"
    weights = ", ".join(f"{n} {w:+.3f}" for n, w in zip(SIGNALS, model.weights, strict=True))
    return (
        f"Decline decision fitted on {fit.covered} covered and {fit.uncovered} uncovered "
        f"questions: weights {weights}; bias {model.bias:+.3f}; threshold {model.threshold:.3f}"
        f"{sure}. On these questions it answers {fit.covered_answered:.3f} of the covered "
        f"({fit.covered_unsure:.3f} marked unsure) and declines {fit.uncovered_declined:.3f} of "
        f"the uncovered ({fit.uncovered_flagged:.3f} declined or marked unsure)."
        f"\nTo decide with it (for this embedding model): "
        f"SUPPORTBOT_DECLINE_MODEL='{model.as_setting()}'"
    )


def ranking_fitted(fit: RankingFit) -> str:
    return (
        f"Ranking fitted on {fit.candidates} candidates of {fit.questions} questions: "
        f"on these questions, the answer's passage is in the top {fit.k} for {fit.before:.3f} "
        f"in fusion order and {fit.after:.3f} in the fitted order.\n"
        + _paste("SUPPORTBOT_RANKING_MODEL", fit.model)
    )


def quoting_fitted(fit: QuotingFit) -> str:
    return (
        f"Quoting fitted on {fit.sentences} sentences of {fit.questions} questions: on these "
        f"questions, the first sentence holds the evidence for {fit.before:.3f} by similarity "
        f"and {fit.after:.3f} by the model.\n" + _paste("SUPPORTBOT_QUOTING_MODEL", fit.model)
    )


def _paste(setting: str, model: LinearModel) -> str:
    return f"To use it (for this embedding model): {setting}='{model.as_setting()}'"


def usage_lines(days: int, totals: dict[str, float | int]) -> list[str]:
    facts = {
        "answers": f"{totals['answers']} in the last {days} days",
        "grounded": str(totals["grounded"]),
        "not covered": str(totals["not_covered"]),
        "unavailable": str(totals["unavailable"]),
        "over a limit": str(totals["limited"]),
        "from cache": str(totals["cached"]),
        "tokens": f"{totals['prompt_tokens']} prompt + {totals['completion_tokens']} completion",
        "estimated cost": f"${totals['cost_usd']:.4f}",
        "latency": f"p50 {totals['latency_p50_ms']:.0f} ms, p95 {totals['latency_p95_ms']:.0f} ms",
    }
    return status_lines(facts)


def eval_needs_dataset() -> str:
    return "give a DATASET (a JSON Lines file, a public set's folder, or 'sample'), or --compare"


def eval_dataset_or_compare() -> str:
    return "give either DATASET or --compare MODEL_A MODEL_B, not both"


def eval_compare_alone(options: Sequence[str]) -> str:
    return f"--compare takes no {', '.join(options)}: they are for a DATASET run"


def held_out_needs_compare() -> str:
    return "--held-out goes with --compare MODEL_A MODEL_B"


def tune_status(
    *,
    job_id: str,
    status: str,
    base_model: str,
    trained_tokens: int | None,
    events: Sequence[tuple[str, str, str]],
    fine_tuned_model: str | None,
    error: str | None,
) -> str:
    facts = {"job": job_id, "status": status, "base model": base_model}
    if trained_tokens:
        facts["trained tokens"] = f"{trained_tokens:,}"
    lines = status_lines(facts)
    if events:
        lines += ["", "Recent events:"]
        lines += [f"  {when}  {level:<5}  {text}" for when, level, text in events]
    if status == "succeeded" and fine_tuned_model:
        lines += [
            "",
            f"The tuned model is {fine_tuned_model}. Compare it with the base model:",
            f"  supportbot eval --compare {base_model} {fine_tuned_model}",
            "then, to answer with it, set:",
            f"  SUPPORTBOT_CHAT_MODEL={fine_tuned_model}",
        ]
    elif status == "failed":
        lines += ["", f"The job failed: {error or 'the API gave no reason'}"]
    elif status == "cancelled":
        lines += ["", "The job was cancelled: start another with `supportbot tune start`."]
    else:
        lines += ["", "Still working: run `supportbot tune status` again later."]
    return "\n".join(lines)
