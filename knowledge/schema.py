"""Names and constants shared by the migrations, the store and retrieval.

The migrations in ``migrations/`` own the DDL; this module only names what they create, so the
index operator class and the query operator cannot drift apart.
"""

from __future__ import annotations

# Cosine distance: the HNSW index is built with this operator class and every vector query
# orders by this operator. Change both together or the index is silently not used.
VECTOR_DISTANCE_OPERATOR = "<=>"
VECTOR_INDEX_OPCLASS = "vector_cosine_ops"

# The text search configuration of the generated full-text column and of every query on it.
TEXT_SEARCH_CONFIG = "english"

DEFAULT_EMBEDDING_DIMENSION = 384

CORPUS_TABLE = "corpus"
DOCUMENTS_TABLE = "documents"
CHUNKS_TABLE = "chunks"
HNSW_INDEX = "chunks_embedding_hnsw"
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
# Building the HNSW graph is fast only while it fits in maintenance_work_mem (about 2 kB per
# 384-dimension chunk); this is set for the building session alone.
HNSW_BUILD_MEMORY = "512MB"


def hnsw_index_ddl() -> str:
    """The HNSW index statement, used by the first migration and by a re-dimensioning reindex."""
    return (
        f"CREATE INDEX {HNSW_INDEX} ON {CHUNKS_TABLE} USING hnsw "
        f"(embedding {VECTOR_INDEX_OPCLASS}) "
        f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"
    )
