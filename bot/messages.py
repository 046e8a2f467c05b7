"""Every sentence a person can see outside an LLM answer, in one place."""

from __future__ import annotations

from knowledge.ingest import IngestReport
from knowledge.types import ScoredChunk, StoredDocument

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
    )


def ingest_summary(reports: list[IngestReport], corpus_version: int | None) -> str:
    stored = [r.result for r in reports if r.result is not None]
    failed = [r for r in reports if r.result is None and not r.skipped]
    skipped = [r for r in reports if r.skipped]
    counts = {s: sum(1 for r in stored if r.status == s) for s in ("added", "updated", "unchanged")}
    detail = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    parts = [f"Ingested {len(stored)} document{'s' if len(stored) != 1 else ''}"
             + (f" ({detail})" if detail else "")]  # fmt: skip
    if failed:
        parts.append(f"{len(failed)} failed: " + ", ".join(r.source for r in failed))
    if skipped:
        parts.append(f"{len(skipped)} skipped (unsupported format)")
    if corpus_version is not None:
        parts.append(f"corpus version {corpus_version}")
    return "; ".join(parts) + "."


def removed(document: StoredDocument) -> str:
    return f"Removed {document.title!r} ({document.id}, {document.chunk_count} chunks)."


def no_documents() -> str:
    return "The knowledge base has no documents yet: add some with `supportbot ingest PATH|URL`."


def document_row(document: StoredDocument) -> str:
    scopes = ",".join(document.scopes)
    updated = document.updated_at.strftime("%Y-%m-%d %H:%M")
    return (
        f"{document.id}  {document.title}  [{scopes}]  {document.chunk_count} chunks  "
        f"v{document.version}  {updated}  {document.url}"
    )


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


# Answers that are not written by a model.

OFFLINE_ANSWER_INTRO = "Here is what our policies say:"


def offline_answer(lines: list[str]) -> str:
    """The offline writer's frame around the sentences it quotes."""
    return "\n".join([OFFLINE_ANSWER_INTRO, "", *(f"- {line}" for line in lines)])


def not_covered(contact: str) -> str:
    return (
        "I couldn't find this in our policies, so I'd rather not guess. "
        f"Please ask {contact}, who can help."
    )


def unavailable(reference: str) -> str:
    return (
        "Sorry, I can't answer right now because the answering service is temporarily "
        f"unavailable. Please try again in a few minutes. (Reference: {reference})"
    )


def empty_question() -> str:
    return "Please type a question, for example: How many days of annual leave do I get?"


def question_too_long(limit: int) -> str:
    return f"That question is too long for me: please keep it under {limit} characters."


def answer_block(text: str, citations: list[tuple[int, str, str]]) -> str:
    """An answer for the terminal: the text, then its numbered sources (n, where, url)."""
    lines = [text]
    if citations:
        lines += ["", "Sources:"]
        lines += [f"  [{n}] {where}  {url}" for n, where, url in citations]
    return "\n".join(lines)


CHAT_WELCOME = (
    "Ask a question about our policies. Follow-ups remember the conversation; "
    "/new starts a new one, /quit (or Ctrl-D) leaves."
)
CHAT_NEW_THREAD = "(new conversation)"


def demo_loaded(documents: int) -> str:
    return f"Loaded the sample handbook: {documents} documents."


def usage_lines(days: int, totals: dict[str, float | int]) -> list[str]:
    facts = {
        "answers": f"{totals['answers']} in the last {days} days",
        "grounded": str(totals["grounded"]),
        "not covered": str(totals["not_covered"]),
        "unavailable": str(totals["unavailable"]),
        "from cache": str(totals["cached"]),
        "tokens": f"{totals['prompt_tokens']} prompt + {totals['completion_tokens']} completion",
        "estimated cost": f"${totals['cost_usd']:.4f}",
        "latency": f"p50 {totals['latency_p50_ms']:.0f} ms, p95 {totals['latency_p95_ms']:.0f} ms",
    }
    return status_lines(facts)
