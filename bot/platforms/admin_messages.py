"""What the bot says to knowledge-base admins in chat: the kb commands' replies, the ingestion
jobs' reports and the document lists (Markdown; each adapter converts it to its own format)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from knowledge.ingest import IngestReport
from knowledge.types import StoredDocument


def admin_help(prefix: str = "/kb") -> str:
    return "\n".join(
        [
            "**Knowledge base commands** (admins only):",
            f"- `{prefix} add <url> [scope ...]`: add or update the document at a URL; "
            "give scopes (e.g. `hr`) to limit who may see it, otherwise it is public",
            f"- `{prefix} remove <doc id, link or title>`: remove a document",
            f"- `{prefix} list`: list the documents",
            f"- `{prefix} stale`: the documents whose review date has passed",
            f"- `{prefix} sources`: the sources kept in sync and how their last sync went",
            f"- `{prefix} sync <name>`: sync a source now",
            f"- `{prefix} gaps`: the questions I could not answer, or answered badly, "
            "most asked first, to answer once for everyone",
            f"- `{prefix} console`: a private one-time link to the admin web console",
            f"- `{prefix} subscribe [scope ...]` in a channel (in Slack also "
            f"`{prefix} subscribe #channel`): announce there each change of a document it may "
            f"see; `{prefix} unsubscribe` stops it",
            "- Send me a file (Markdown, HTML, PDF, Word or text) in a direct message to add it.",
        ]
    )


def admin_refusal() -> str:
    return (
        "Sorry, only knowledge-base admins can change documents. "
        "If a document is missing or out of date, please tell its owner."
    )


def job_queued(source: str, job_id: int) -> str:
    return (
        f"Queued `add {source}` (job {job_id}). I'll tell you here when it starts "
        "and when the document is ready."
    )


def job_already_queued(source: str) -> str:
    return f"`add {source}` is already waiting in the queue; I'll report on that one."


def upload_queued(name: str) -> str:
    return (
        f"Received {name}. I'll add it to the knowledge base and tell you here when it starts "
        "and when the document is ready."
    )


def upload_waiting(name: str) -> str:
    return f"{name} is already waiting to be added; I'll report on that one."


def upload_finished(name: str) -> str:
    return f"I've dealt with this copy of {name} before; send a changed version to update it."


def job_started(source: str, attempt: int) -> str:
    again = f" (attempt {attempt}: the previous one was interrupted)" if attempt > 1 else ""
    return f"Started adding {source}{again}…"


def job_failed(source: str, attempts: int) -> str:
    return (
        f"Could not add {source} after {attempts} attempts: the database or the embedding "
        "model kept failing. The server log has the details; try again later."
    )


def jobs_unavailable(reason: str) -> str:
    return f"I couldn't queue that: the job queue is unavailable ({reason}). Try again later."


def admin_usage_add() -> str:
    return (
        "Please give a link (http or https): `add <url> [scope ...]`. "
        "To add a file, send it to me in a direct message."
    )


def fetch_refused(url: str) -> str:
    # The same words whatever went wrong: a reason (refused, timed out, HTTP 401) would let
    # chat map the network behind the server.
    return (
        f"Could not add {url}: I could not download it. I fetch only public web pages (and "
        "addresses the operator has allowed), within a size and time limit; the server log "
        "says more."
    )


def admin_usage_remove() -> str:
    return "Please say which document: `remove <doc id, link or title>`."


def admin_bad_scope(scope: str) -> str:
    return f"`{scope}` is not a scope name: use lowercase letters, digits, `-` and `_`."


def admin_unknown_command(action: str) -> str:
    return f"I don't know the command `{action}`. Try `help`."


def admin_ingested(reports: Sequence[IngestReport]) -> str:
    lines = []
    for report in reports:
        if report.result is None:
            lines.append(f"Could not add {report.source}: {report.error}")
            continue
        result = report.result
        verb = {
            "added": "Added",
            "updated": "Updated",
            "relinked": "Relinked",
            "unchanged": "Already up to date:",
        }
        lines.append(
            f"{verb.get(result.status, result.status)} **{result.title}** "
            f"({result.section_count} sections, {result.chunk_count} chunks). "
            + ("It is answerable now." if result.status != "unchanged" else "")
        )
    return "\n".join(line.strip() for line in lines) or "Nothing was ingested."


def admin_removed(document: StoredDocument) -> str:
    return f"Removed **{document.title}** ({document.id}). It is no longer used in answers."


def admin_not_found(reference: str) -> str:
    return f"No document matches `{reference}`. Use `list` to see the documents."


def admin_failed(reason: str) -> str:
    return f"That did not work: {reason}"


def admin_document_list(documents: Sequence[StoredDocument], limit: int = 50) -> str:
    if not documents:
        return "The knowledge base has no documents yet. Add one with `add <url>`."
    return _document_lines(
        f"**{len(documents)} documents:**",
        documents,
        limit,
        lambda d: (
            f" ({', '.join(d.scopes)}; {d.chunk_count} chunks; updated {d.updated_at:%Y-%m-%d})"
            + _link_broken(d)
        ),
    )


def _link_broken(document: StoredDocument) -> str:
    """What the last ``docs --check-links`` found wrong with the link, if anything."""
    if not (document.link_problem and document.link_checked_at):
        return ""
    checked = f"{document.link_checked_at:%Y-%m-%d}"
    return f" ⚠️ link broken: {document.link_problem} (checked {checked})"


def admin_stale(documents: Sequence[StoredDocument], limit: int = 50) -> str:
    """``kb stale``: overdue documents, each with its review date and owner."""
    if not documents:
        return "No document is overdue for review."
    count = len(documents)
    return _document_lines(
        f"**{count} document{'s are' if count != 1 else ' is'} overdue for review:**",
        documents,
        limit,
        lambda d: (
            f": review was due {d.review_by:%Y-%m-%d} "
            + (f"(owner {d.owner})" if d.owner else "(no owner)")
        ),
    )


def _document_lines(
    heading: str,
    documents: Sequence[StoredDocument],
    limit: int,
    detail: Callable[[StoredDocument], str],
) -> str:
    lines = [heading]
    lines += [f"- [{d.title}]({d.url}) `{d.id}`{detail(d)}" for d in documents[:limit]]
    if len(documents) > limit:
        lines.append(f"…and {len(documents) - limit} more.")
    return "\n".join(lines)
