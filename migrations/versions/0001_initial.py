"""The knowledge base: corpus state, documents and their chunks.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import context, op

from knowledge.schema import DEFAULT_EMBEDDING_DIMENSION, TEXT_SEARCH_CONFIG, hnsw_index_ddl

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    dimension = int(
        context.config.attributes.get("embedding_dimension", DEFAULT_EMBEDDING_DIMENSION)
    )
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute(
        f"""
        CREATE TABLE corpus (
            id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
            version bigint NOT NULL DEFAULT 0,
            embedding_model text,
            embedding_dimension integer NOT NULL DEFAULT {dimension},
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("INSERT INTO corpus (id) VALUES (1)")
    op.execute(
        """
        CREATE TABLE documents (
            id text PRIMARY KEY,
            title text NOT NULL,
            url text NOT NULL UNIQUE,
            source text NOT NULL,
            format text NOT NULL,
            owner text,
            scopes text[] NOT NULL DEFAULT ARRAY['public'],
            content_hash text NOT NULL,
            version integer NOT NULL DEFAULT 1,
            effective_date date,
            review_by date,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        f"""
        CREATE TABLE chunks (
            id text PRIMARY KEY,
            document_id text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            position integer NOT NULL,
            heading_path text[] NOT NULL,
            url text NOT NULL,
            context text NOT NULL,
            text text NOT NULL,
            content_hash text NOT NULL,
            scopes text[] NOT NULL,
            model text NOT NULL,
            embedding vector({dimension}),
            tsv tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('{TEXT_SEARCH_CONFIG}', context), 'A')
                || setweight(to_tsvector('{TEXT_SEARCH_CONFIG}', text), 'B')
            ) STORED,
            UNIQUE (document_id, position)
        )
        """
    )
    op.execute(hnsw_index_ddl())
    op.execute("CREATE INDEX chunks_tsv_gin ON chunks USING gin (tsv)")
    op.execute("CREATE INDEX chunks_content_hash ON chunks (content_hash)")


def downgrade() -> None:
    op.execute("DROP TABLE chunks")
    op.execute("DROP TABLE documents")
    op.execute("DROP TABLE corpus")
