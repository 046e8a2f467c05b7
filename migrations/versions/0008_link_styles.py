"""Where each file came from, and the link style each ingested folder was last linked in.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

``documents.origin`` is a file's absolute path, so a file whose link changes (another link
style, another base URL) is recognised on its next ingest and relinked, not added a second
time. Documents stored before it have none; the store recognises them by the links files were
given until now (the path under the base URL, or the bare file path).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE documents ADD COLUMN origin text")
    op.execute("CREATE INDEX documents_origin ON documents (origin) WHERE origin IS NOT NULL")
    op.execute(
        """
        CREATE TABLE folder_link_styles (
            folder text PRIMARY KEY,
            style text NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE folder_link_styles")
    op.execute("DROP INDEX documents_origin")
    op.execute("ALTER TABLE documents DROP COLUMN origin")
