"""What the ``supportbot sources`` commands print."""

from __future__ import annotations

from collections.abc import Sequence

from bot.platforms.source_messages import pages
from knowledge.sources.types import SourceConfig, SourceStatus, SyncReport


def added(config: SourceConfig) -> str:
    return (
        f"Added the {config.kind} source {config.name!r} ({where(config)}), synced every "
        f"{interval(config.interval_seconds)}. Sync it now with "
        f"`supportbot sources sync {config.name}`."
    )


def removed(name: str, documents: int) -> str:
    return f"Removed the source {name!r} and its {documents} documents."


def no_sources() -> str:
    return "No sources yet: add one with `supportbot sources add web NAME --sitemap URL`."


def where(config: SourceConfig) -> str:
    """What the source reads, in a few words (never a credential: settings hold none)."""
    settings = config.settings
    if "sitemap" in settings:
        return f"sitemap {settings['sitemap']}"
    if "start" in settings:
        return f"crawl from {settings['start']} within {settings.get('prefix', '/')}"
    return ", ".join(f"{k} {v}" for k, v in sorted(settings.items()))


def interval(seconds: int) -> str:
    if seconds % 86_400 == 0:
        return f"{seconds // 86_400} d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"


def status_row(status: SourceStatus) -> str:
    config = status.config
    if status.last_sync_at is None:
        state = "never synced"
    else:
        when = status.last_sync_at.strftime("%Y-%m-%d %H:%M")
        state = f"synced {when}: {pages(status.pages)}, " + counts(
            status.added, status.updated, status.removed, status.failed
        )
    error = f"  last error: {status.last_error}" if status.last_error else ""
    return (
        f"{config.name}  {config.kind}  {where(config)}  [{','.join(config.scopes)}]  "
        f"every {interval(config.interval_seconds)}  {state}{error}"
    )


def counts(added: int, updated: int, removed: int, failed: int) -> str:
    line = f"{added} added, {updated} updated, {removed} removed"
    return f"{line}, {failed} failed" if failed else line


def sync_line(report: SyncReport) -> str:
    if report.error is not None:
        return f"{report.source}: not synced: {report.error}"
    return (
        f"{report.source}: {pages(report.pages)} · "
        f"{counts(report.added, report.updated, report.removed, report.failed)}, "
        f"{report.unchanged} unchanged"
    )


def syncing() -> str:
    return "Syncing (unchanged pages are skipped)…"


def failure_line(source: str, failure: str) -> str:
    return f"{source}: failed: {failure}"


def sync_summary(reports: Sequence[SyncReport]) -> str:
    bad = [r.source for r in reports if not r.ok]
    if not bad:
        return f"Synced {len(reports)} source{'s' if len(reports) != 1 else ''}."
    return f"Synced {len(reports)} sources; with failures: {', '.join(bad)}."
