"""Document rows: writing and deleting one, finding or listing the stored ones, their scopes.

A document's chunks, versions and metadata overrides go with it: they cascade on delete.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from knowledge.types import Document, MetadataChange, StoredDocument

_DOCUMENT_FIELDS = [f.name for f in dataclasses.fields(StoredDocument)]
_BY_REFERENCE = "WHERE d.id = :ref OR d.url = :ref OR lower(d.title) = lower(:ref)"
_ALL = ""
# A document's successors: documents naming it (by id or link) in ``supersedes`` that are no
# longer drafts. A successor that was itself superseded or retired still replaced it.
_SUCCESSORS = (
    "FROM documents s WHERE s.supersedes IN (d.id, d.url) AND s.id <> d.id AND s.status <> 'draft'"
)
# Which documents ``d`` may be cited: active ones that no successor replaced.
CITABLE = f"d.status = 'active' AND NOT EXISTS (SELECT 1 {_SUCCESSORS})"
_OVERRIDDEN = ("owner", "effective_date", "review_by", "status", "supersedes")


async def stored_content_hash(connection: AsyncConnection, document_id: str) -> str | None:
    """The content hash of the stored version of a document, None if it is not stored."""
    content_hash: str | None = (
        await connection.execute(
            text("SELECT content_hash FROM documents WHERE id = :id"), {"id": document_id}
        )
    ).scalar_one_or_none()
    return content_hash


async def former_versions(
    connection: AsyncConnection, document_id: str, origin: str, former_urls: Sequence[str]
) -> list[str]:
    """The ids of documents other than ``document_id`` stored from the same file: with the
    same ``origin``, or, stored before documents kept theirs, under one of ``former_urls``."""
    rows = await connection.execute(
        text(
            "SELECT id FROM documents WHERE id <> :id "
            "AND (origin = :origin OR (origin IS NULL AND url = ANY(:former)))"
        ),
        {"id": document_id, "origin": origin, "former": list(former_urls)},
    )
    return list(rows.scalars())


async def write_document(
    connection: AsyncConnection, document_id: str, document: Document, content_hash: str
) -> None:
    """Insert the document's row, or update the stored one and advance its version.

    What a link check found is forgotten: the anchors may not be those it checked.
    """
    await connection.execute(
        text(
            """
            INSERT INTO documents (id, title, url, source, format, owner, scopes,
                content_hash, effective_date, review_by, origin, status, supersedes)
            VALUES (:id, :title, :url, :source, :format, :owner, :scopes,
                :content_hash, :effective_date, :review_by, :origin, :status, :supersedes)
            ON CONFLICT (id) DO UPDATE SET
                title = EXCLUDED.title, source = EXCLUDED.source,
                format = EXCLUDED.format, owner = EXCLUDED.owner,
                scopes = EXCLUDED.scopes, content_hash = EXCLUDED.content_hash,
                effective_date = EXCLUDED.effective_date,
                review_by = EXCLUDED.review_by, origin = EXCLUDED.origin,
                link_problem = NULL, link_checked_at = NULL,
                status = EXCLUDED.status, supersedes = EXCLUDED.supersedes,
                version = documents.version + 1, updated_at = now()
            """
        ),
        {
            "id": document_id,
            "title": document.title,
            "url": document.url,
            "source": document.source,
            "format": document.format,
            "owner": document.owner,
            "scopes": list(document.scopes),
            "content_hash": content_hash,
            "effective_date": document.effective_date,
            "review_by": document.review_by,
            "origin": document.origin,
            "status": document.status,
            "supersedes": document.supersedes,
        },
    )
    await apply_overrides(connection, document_id)


async def set_overrides(
    connection: AsyncConnection, document_id: str, change: MetadataChange
) -> None:
    """Keep ``change`` (its fields that are not None) as the document's overrides, and apply
    them: they outlast every later ingest of the document."""
    values = {name: getattr(change, name) for name in _OVERRIDDEN}
    await connection.execute(
        text(
            """
            INSERT INTO document_overrides
                (document_id, owner, effective_date, review_by, status, supersedes, cleared)
            VALUES (:id, :owner, :effective_date, :review_by, :status, :supersedes,
                    CAST(:clear AS text[]))
            ON CONFLICT (document_id) DO UPDATE SET
                owner = coalesce(EXCLUDED.owner, document_overrides.owner),
                effective_date = coalesce(EXCLUDED.effective_date,
                                          document_overrides.effective_date),
                review_by = coalesce(EXCLUDED.review_by, document_overrides.review_by),
                status = coalesce(EXCLUDED.status, document_overrides.status),
                supersedes = coalesce(EXCLUDED.supersedes, document_overrides.supersedes),
                -- A field set again is no longer cleared; one cleared now is.
                cleared = ARRAY(
                    SELECT DISTINCT f
                    FROM unnest(document_overrides.cleared || CAST(:clear AS text[])) AS f
                    WHERE f <> ALL(CAST(:set AS text[])) OR f = ANY(CAST(:clear AS text[]))),
                updated_at = now()
            """
        ),
        {
            "id": document_id,
            **values,
            "clear": list(change.clear),
            "set": [name for name, value in values.items() if value is not None],
        },
    )
    await apply_overrides(connection, document_id)


async def apply_overrides(connection: AsyncConnection, document_id: str) -> None:
    """Put the document's overrides, where it has any, over what the document says."""
    await connection.execute(
        text(
            """
            UPDATE documents AS d SET
                owner = CASE WHEN 'owner' = ANY(o.cleared) THEN NULL
                             ELSE coalesce(o.owner, d.owner) END,
                effective_date = CASE WHEN 'effective_date' = ANY(o.cleared) THEN NULL
                                      ELSE coalesce(o.effective_date, d.effective_date) END,
                review_by = CASE WHEN 'review_by' = ANY(o.cleared) THEN NULL
                                 ELSE coalesce(o.review_by, d.review_by) END,
                status = coalesce(o.status, d.status),
                supersedes = CASE WHEN 'supersedes' = ANY(o.cleared) THEN NULL
                                  ELSE coalesce(o.supersedes, d.supersedes) END
            FROM document_overrides AS o
            WHERE o.document_id = d.id AND d.id = :id
            """
        ),
        {"id": document_id},
    )


async def replaced_document(
    connection: AsyncConnection, document_id: str, reference: str
) -> str | None:
    """The id of the other stored document whose id or link is ``reference``, if any."""
    found: str | None = (
        await connection.execute(
            text("SELECT id FROM documents WHERE (id = :ref OR url = :ref) AND id <> :id"),
            {"ref": reference, "id": document_id},
        )
    ).scalar_one_or_none()
    return found


async def delete_document(connection: AsyncConnection, document_id: str) -> None:
    """Delete a document's row, and with it its chunks."""
    await connection.execute(text("DELETE FROM documents WHERE id = :id"), {"id": document_id})


async def documents_matching(connection: AsyncConnection, reference: str) -> list[StoredDocument]:
    """The stored documents whose id, canonical link or title (any case) is ``reference``."""
    return await _documents(connection, _BY_REFERENCE, {"ref": reference})


async def all_documents(connection: AsyncConnection) -> list[StoredDocument]:
    """Every stored document, by title."""
    return await _documents(connection, _ALL, {})


async def scopes_of(
    connection: AsyncConnection, document_ids: Collection[str]
) -> dict[str, tuple[str, ...]]:
    """The scopes of each of ``document_ids`` still stored (absent ones are left out)."""
    rows = await connection.execute(
        text("SELECT id, scopes FROM documents WHERE id = ANY(:ids)"), {"ids": list(document_ids)}
    )
    return {row.id: tuple(row.scopes) for row in rows}


async def _documents(
    connection: AsyncConnection, where: str, params: dict[str, str]
) -> list[StoredDocument]:
    query = f"""
        SELECT d.*, (SELECT count(*) FROM chunks c WHERE c.document_id = d.id) AS chunk_count,
            CASE WHEN d.status = 'active' AND NOT ({CITABLE}) THEN 'superseded'
                 ELSE d.status END AS life_status,
            (SELECT s.url {_SUCCESSORS} ORDER BY s.updated_at DESC LIMIT 1) AS superseded_by,
            (SELECT max(v.created_at) FROM document_versions v WHERE v.document_id = d.id)
                AS changed_at
        FROM documents d {where} ORDER BY lower(d.title), d.id
    """  # noqa: S608 - ``where`` is one of this module's constants; values are bound
    rows = (await connection.execute(text(query), params)).mappings()
    return [
        StoredDocument(
            **{
                **{n: row[n] for n in _DOCUMENT_FIELDS if n != "status"},
                "scopes": tuple(row["scopes"]),
                "status": row["life_status"],
            }
        )
        for row in rows
    ]
