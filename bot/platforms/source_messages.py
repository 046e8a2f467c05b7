"""What admins read in chat about sources: ``kb sources``, ``kb sync NAME`` and its job."""

from __future__ import annotations

from collections.abc import Sequence

from knowledge.sources.types import SourceStatus, SyncReport


def sources_list(statuses: Sequence[SourceStatus]) -> str:
    if not statuses:
        return "No sources are set up. The operator adds them with `supportbot sources add`."
    lines = ["**Sources** (sync one now with `sync NAME`):"]
    for status in statuses:
        config = status.config
        if status.last_sync_at is None:
            state = "never synced"
        else:
            state = (
                f"{pages(status.pages)}, last synced {status.last_sync_at:%Y-%m-%d %H:%M} UTC "
                f"(+{status.added} ~{status.updated} -{status.removed})"
            )
        error = f" ⚠️ {status.last_error}" if status.last_error else ""
        lines.append(f"- `{config.name}` ({config.kind}): {state}{error}")
    return "\n".join(lines)


def sync_usage() -> str:
    return "Please name the source: `sync NAME` (`sources` lists them)."


def unknown_source(name: str) -> str:
    return f"There is no source named `{name}`; `sources` lists them."


def sync_queued(name: str, job_id: int) -> str:
    return f"Queued a sync of `{name}` (job {job_id}). I'll tell you here how it went."


def sync_already_queued(name: str) -> str:
    return f"A sync of `{name}` is already waiting in the queue; I'll report on that one."


def synced(report: SyncReport) -> str:
    if report.error is not None:
        return f"Could not sync `{report.source}`: {report.error}"
    line = (
        f"Synced `{report.source}`: {pages(report.pages)}, {report.added} added, "
        f"{report.updated} updated, {report.removed} removed, {report.unchanged} unchanged"
    )
    if not report.failures:
        return line + "."
    shown = "\n".join(f"- {failure}" for failure in report.failures[:5])
    more = f"\n- …and {report.failed - 5} more" if report.failed > 5 else ""
    return f"{line}; {report.failed} failed:\n{shown}{more}"


def pages(count: int) -> str:
    return f"{count} page" if count == 1 else f"{count} pages"
