"""Document versions: one row per change of a document's sections, with what changed.

A version records each section's fingerprint (its heading path, and a hash of its text), so
the next version is compared section by section: a heading path that appears is ``added``,
one that goes is ``removed``, one whose text differs is ``changed``. A change of metadata
alone (owner, dates, status) changes no section and makes no version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from knowledge.types import Document, DocumentVersion

# The name of the text before a document's first heading.
INTRODUCTION = "(introduction)"

Fingerprints = dict[str, str]  # section name -> hash of its text


@dataclass(frozen=True)
class SectionChanges:
    """Sections by name, from one version of a document to the next."""

    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def fingerprints(document: Document) -> Fingerprints:
    """Each section's name (its heading path; repeats numbered) and a hash of its text."""
    found: Fingerprints = {}
    for section in document.sections:
        name = section_name(section.heading_path)
        unique, repeat = name, 1
        while unique in found:
            repeat += 1
            unique = f"{name} ({repeat})"
        found[unique] = hashlib.sha256(section.text.encode()).hexdigest()[:16]
    return found


def section_texts(document: Document) -> dict[str, str]:
    """Each section's text by the name ``fingerprints`` gives it."""
    return dict(zip(fingerprints(document), (s.text for s in document.sections), strict=True))


def section_name(heading_path: Sequence[str]) -> str:
    """The name a version gives the section at ``heading_path``."""
    return " › ".join(heading_path) or INTRODUCTION


def touches(names: Sequence[str], title: str, heading_path: Sequence[str]) -> bool:
    """Whether a change to the sections ``names`` touches a chunk of document ``title`` at
    ``heading_path``: its own section, or (as chunking packs a heading's small subsections
    into its first section's chunk) a subsection under the same heading."""
    own = section_name(heading_path)
    path = tuple(heading_path)
    part = path[:2] if path and path[0] == title else path[:1]
    # A part that is the title alone holds only the text before the first subheading.
    packed = section_name(part) + " › " if part and part != (title,) else None
    return any(n == own or (packed is not None and n.startswith(packed)) for n in names)


def compare(old: Fingerprints, new: Fingerprints) -> SectionChanges:
    """What changed from ``old`` to ``new``, each list in the order of the version it is in."""
    return SectionChanges(
        added=tuple(n for n in new if n not in old),
        changed=tuple(n for n in new if n in old and old[n] != new[n]),
        removed=tuple(n for n in old if n not in new),
    )


async def record_version(
    connection: AsyncConnection, document_id: str, document: Document
) -> DocumentVersion | None:
    """Add a version when the document's sections differ from its latest version's; returns
    it, or None when no section changed."""
    latest = (
        await connection.execute(
            text(
                "SELECT number, sections FROM document_versions WHERE document_id = :id "
                "ORDER BY number DESC LIMIT 1"
            ),
            {"id": document_id},
        )
    ).first()
    new = fingerprints(document)
    changes: SectionChanges | None
    if latest is None:
        changes = SectionChanges(tuple(new), (), ())
    elif latest.sections is None:
        changes = None  # stored before versions were kept: what it held is not known
    else:
        changes = compare(latest.sections, new)
        if not changes:
            return None
    row = (
        await connection.execute(
            text(
                """
                INSERT INTO document_versions
                    (document_id, number, sections, added, changed, removed, texts)
                VALUES (:id, :number, CAST(:sections AS jsonb), :added, :changed, :removed,
                        CAST(:texts AS jsonb))
                RETURNING number, created_at
                """
            ),
            {
                "id": document_id,
                "number": (latest.number if latest else 0) + 1,
                "sections": json.dumps(new),
                "added": list(changes.added) if changes else None,
                "changed": list(changes.changed) if changes else None,
                "removed": list(changes.removed) if changes else None,
                "texts": json.dumps(section_texts(document), ensure_ascii=False),
            },
        )
    ).one()
    return _version(row.number, row.created_at, changes)


async def versions(connection: AsyncConnection, document_id: str) -> list[DocumentVersion]:
    """A document's versions, newest first."""
    rows = await connection.execute(
        text(
            "SELECT number, created_at, added, changed, removed FROM document_versions "
            "WHERE document_id = :id ORDER BY number DESC"
        ),
        {"id": document_id},
    )
    return [
        DocumentVersion(
            row.number, row.created_at, _names(row.added), _names(row.changed), _names(row.removed)
        )
        for row in rows
    ]


def _version(number: int, created_at: datetime, changes: SectionChanges | None) -> DocumentVersion:
    if changes is None:
        return DocumentVersion(number, created_at, None, None, None)
    return DocumentVersion(number, created_at, changes.added, changes.changed, changes.removed)


def _names(value: Sequence[str] | None) -> tuple[str, ...] | None:
    return tuple(value) if value is not None else None
