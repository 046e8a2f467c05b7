"""Document rows: writing and deleting one, finding or listing the stored ones, their scopes.

A document's chunks go with it: ``chunks.document_id`` cascades on delete.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from knowledge.types import Document, StoredDocument

_DOCUMENT_FIELDS = [f.name for f in dataclasses.fields(StoredDocument)]
_BY_REFERENCE = "WHERE d.id = :ref OR d.url = :ref OR lower(d.title) = lower(:ref)"
_ALL = ""


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
                content_hash, effective_date, review_by, origin)
            VALUES (:id, :title, :url, :source, :format, :owner, :scopes,
                :content_hash, :effective_date, :review_by, :origin)
            ON CONFLICT (id) DO UPDATE SET
                title = EXCLUDED.title, source = EXCLUDED.source,
                format = EXCLUDED.format, owner = EXCLUDED.owner,
                scopes = EXCLUDED.scopes, content_hash = EXCLUDED.content_hash,
                effective_date = EXCLUDED.effective_date,
                review_by = EXCLUDED.review_by, origin = EXCLUDED.origin,
                link_problem = NULL, link_checked_at = NULL,
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
        },
    )


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
        SELECT d.*, (SELECT count(*) FROM chunks c WHERE c.document_id = d.id) AS chunk_count
        FROM documents d {where} ORDER BY lower(d.title), d.id
    """  # noqa: S608 - ``where`` is one of this module's constants; values are bound
    rows = (await connection.execute(text(query), params)).mappings()
    return [
        StoredDocument(**{**{n: row[n] for n in _DOCUMENT_FIELDS}, "scopes": tuple(row["scopes"])})
        for row in rows
    ]
