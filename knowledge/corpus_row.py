"""The single ``corpus`` row: the corpus version, the writers' lock, and the embedding model.

Bumping the version takes the row's lock, so every writer bumps it first. The row also records
the model (and dimension) the stored vectors were built with, so vectors of two models never mix.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from knowledge.embedders import Embedder
from knowledge.errors import EmbeddingModelMismatchError
from knowledge.types import CorpusState


async def read_version(connection: AsyncConnection) -> int:
    """The current corpus version."""
    result = await connection.execute(text("SELECT version FROM corpus"))
    return int(result.scalar_one())


async def read_state(connection: AsyncConnection) -> CorpusState:
    """This knowledge base's own id and its current version."""
    row = (await connection.execute(text("SELECT instance::text, version FROM corpus"))).one()
    return CorpusState(instance=row.instance, version=int(row.version))


async def bump_version(
    connection: AsyncConnection, embedder: Embedder, *, same_model: bool = True
) -> int:
    """Take the writers' lock, advance the corpus version and return it.

    With ``same_model``, refuse (rolling the transaction back) when ``embedder`` is not the
    model the corpus was built with.
    """
    row = (
        await connection.execute(
            text(
                "UPDATE corpus SET version = version + 1, updated_at = now() "
                "RETURNING version, embedding_model, embedding_dimension"
            )
        )
    ).one()
    if same_model:
        require_same_model(embedder, row.embedding_model, row.embedding_dimension)
    return int(row.version)


async def stored_model(connection: AsyncConnection) -> tuple[str | None, int]:
    """The model the stored vectors were built with (None before any), and their dimension."""
    row = (
        await connection.execute(text("SELECT embedding_model, embedding_dimension FROM corpus"))
    ).one()
    return row.embedding_model, row.embedding_dimension


def require_same_model(embedder: Embedder, stored_model: str | None, stored_dimension: int) -> None:
    """Raise ``EmbeddingModelMismatchError`` unless ``embedder`` matches the stored model."""
    model, dimension = embedder.model, embedder.dimension
    if stored_model not in (None, model) or stored_dimension != dimension:
        stored = f"{stored_model or 'no model'} ({stored_dimension} dimensions)"
        raise EmbeddingModelMismatchError(
            f"the knowledge base was embedded with {stored}, but the configured model is "
            f"{model} ({dimension} dimensions): run `supportbot reindex`"
        )


async def stored_dimension(connection: AsyncConnection) -> int:
    """The dimension of the stored vectors."""
    return int(
        (await connection.execute(text("SELECT embedding_dimension FROM corpus"))).scalar_one()
    )


async def claim_model(connection: AsyncConnection, model: str) -> None:
    """Record ``model`` as the corpus's model, unless one is recorded already."""
    await connection.execute(
        text("UPDATE corpus SET embedding_model = coalesce(embedding_model, :model)"),
        {"model": model},
    )


async def record_model(connection: AsyncConnection, model: str, dimension: int) -> None:
    """Record ``model`` as the corpus's model, replacing the one recorded (after a reindex)."""
    await connection.execute(
        text("UPDATE corpus SET embedding_model = :model, embedding_dimension = :dim"),
        {"model": model, "dim": dimension},
    )
