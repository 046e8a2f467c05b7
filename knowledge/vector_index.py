"""The chunk vectors' column and its HNSW index: checking, dropping, building, resizing."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from knowledge.schema import HNSW_BUILD_MEMORY, HNSW_INDEX, hnsw_index_ddl


async def vector_index_exists(connection: AsyncConnection) -> bool:
    """Whether the HNSW index is there (a bulk load that died leaves none)."""
    exists = (
        await connection.execute(
            text("SELECT 1 FROM pg_indexes WHERE indexname = :name"), {"name": HNSW_INDEX}
        )
    ).scalar()
    return bool(exists)


async def drop_vector_index(connection: AsyncConnection, *, if_exists: bool = False) -> None:
    """Drop the HNSW index, to build it once after many writes rather than grow it per row."""
    if_exists_clause = "IF EXISTS " if if_exists else ""
    await connection.execute(text(f"DROP INDEX {if_exists_clause}{HNSW_INDEX}"))


async def build_vector_index(connection: AsyncConnection) -> None:
    """Build the HNSW index, with enough memory for the graph (this transaction only)."""
    await connection.execute(
        text("SELECT set_config('maintenance_work_mem', :memory, true)"),
        {"memory": HNSW_BUILD_MEMORY},
    )
    await connection.execute(text(hnsw_index_ddl()))


async def resize_vectors(connection: AsyncConnection, dimension: int) -> None:
    """Give the vector column a new dimension, emptying it; drop the index first.

    The column's size is fixed by the model, so a model of another dimension needs a new column
    type.
    """
    await connection.execute(
        text(f"ALTER TABLE chunks ALTER COLUMN embedding TYPE vector({int(dimension)}) USING NULL")
    )
