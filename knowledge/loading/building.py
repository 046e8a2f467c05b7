"""What every parser does at the end: pick the canonical link, check there is text, build."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from knowledge.errors import LoadError
from knowledge.loading.sources import RawSource
from knowledge.types import ACTIVE, PUBLIC_SCOPE, STATUSES, Document, Section


def build_document(
    source: RawSource,
    *,
    title: str | None,
    sections: list[Section],
    declared_url: str | None = None,
    owner: str | None = None,
    scopes: tuple[str, ...] | None = None,
    effective_date: date | None = None,
    review_by: date | None = None,
    status: str | None = None,
    supersedes: str | None = None,
) -> Document:
    """A ``Document`` from parsed parts, or a ``LoadError`` if it has no text.

    The canonical link is the fetched URL for web sources; for files, a link the file declares
    (front matter ``url:``, ``rel=canonical``), else the ``--base-url`` join, else the path.
    """
    kept = [s for s in sections if s.text.strip()]
    if not kept:
        raise LoadError(source.name, "has no text")
    if source.fetched:
        url = source.url or source.fallback_url
    else:
        url = declared_url or source.url or source.fallback_url
    return Document(
        title=_clean(title) or _title_from_name(source.name),
        url=url,
        source=source.name,
        format=source.format,
        sections=tuple(kept),
        owner=_clean(owner) or None,
        scopes=scopes or (PUBLIC_SCOPE,),
        effective_date=effective_date,
        review_by=review_by,
        origin=source.origin,
        former_urls=source.former_urls,
        status=status or ACTIVE,
        supersedes=_clean(supersedes) or None,
    )


def parse_scopes(value: Any, source: str) -> tuple[str, ...] | None:
    """Scopes from metadata: a list or a comma-separated string."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        raise LoadError(source, "scopes must be a list or a comma-separated string")
    scopes = tuple(str(item).strip().lower() for item in items if str(item).strip())
    return scopes or None


def parse_date(value: Any, field: str, source: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as e:
        raise LoadError(source, f"{field} {value!r} is not a date (YYYY-MM-DD)") from e


def parse_status(value: Any, source: str) -> str | None:
    """A status from metadata (any case); Word's "Final" is ``active``."""
    if value is None or not str(value).strip():
        return None
    status = str(value).strip().lower()
    status = ACTIVE if status == "final" else status
    if status not in STATUSES:
        raise LoadError(source, f"status {value!r} is not one of {', '.join(STATUSES)}")
    return status


def _clean(value: str | None) -> str:
    return " ".join(value.split()) if value else ""


def _title_from_name(name: str) -> str:
    stem = Path(name.rstrip("/")).stem or name
    return stem.replace("-", " ").replace("_", " ").strip().capitalize()
