"""Every chunk's sentences with their own vectors.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

Retrieval scores a candidate passage by its best sentence as well as by the whole passage, and
the offline writer quotes the sentences closest in meaning to the question. The vectors have
no index (they are only compared within a few candidate chunks) and no fixed dimension (a
reindex to a model of another size rewrites them with the chunks').

Existing chunks have no sentences until their documents are ingested again (the store's index
version changed, so an unchanged document is rewritten, reusing its chunk vectors); until then
they are scored and quoted as before.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE sentences (
            chunk_id text NOT NULL REFERENCES chunks (id) ON DELETE CASCADE,
            position integer NOT NULL,
            text text NOT NULL,
            embedding vector NOT NULL,
            PRIMARY KEY (chunk_id, position)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE sentences")
