"""Metadata a document's source gives apart from its bytes (a connector's owner, dates and
status for a page), laid under what the document says about itself."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date

from knowledge.errors import LoadError
from knowledge.types import ACTIVE, STATUSES, Document


@dataclass(frozen=True)
class SourceMetadata:
    """What a source knows about one document; None where it knows nothing.

    A connector fills it in on the ``RawSource`` it hands the loader. The document's own
    metadata (front matter, meta tags, core properties) wins where it gives a value; a status
    from the source applies to a document that gives none (``active`` is what none means).
    """

    owner: str | None = None
    effective_date: date | None = None
    review_by: date | None = None
    status: str | None = None
    supersedes: str | None = None


def with_source_metadata(
    document: Document, metadata: SourceMetadata | None, name: str
) -> Document:
    """``document`` with ``metadata`` filling what it does not say; raises ``LoadError``
    (naming ``name``) for a status that is not one of ``STATUSES``."""
    if metadata is None:
        return document
    status = metadata.status.strip().lower() if metadata.status else None
    if status is not None and status not in STATUSES:
        raise LoadError(name, f"its source gives status {metadata.status!r}, not one of "
                              f"{', '.join(STATUSES)}")  # fmt: skip
    return dataclasses.replace(
        document,
        owner=document.owner or metadata.owner,
        effective_date=document.effective_date or metadata.effective_date,
        review_by=document.review_by or metadata.review_by,
        status=status if status and document.status == ACTIVE else document.status,
        supersedes=document.supersedes or metadata.supersedes,
    )
