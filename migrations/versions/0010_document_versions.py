"""Documents have a life: a status, what they supersede, metadata set by hand, and versions.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

``documents.status`` (draft, active, superseded, retired) and ``documents.supersedes`` (the
link or id of the document it replaces) come from the document's own metadata.
``document_overrides`` holds what `supportbot docs set` changed: it is kept apart from the
document's row so that ingesting the file again, changed or not, cannot undo it.
``document_versions`` keeps one row per change of a document's sections: when, which sections
it added, changed and removed, and each section's fingerprint to compare the next one with.
Documents stored before this revision get a first version dated their last update, without
fingerprints (what their sections were is not known), so their next change lists no sections.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUSES = "('draft', 'active', 'superseded', 'retired')"


def upgrade() -> None:
    op.execute(
        f"""
        ALTER TABLE documents
            ADD COLUMN status text NOT NULL DEFAULT 'active' CHECK (status IN {_STATUSES}),
            ADD COLUMN supersedes text
        """
    )
    op.execute(
        f"""
        CREATE TABLE document_overrides (
            document_id text PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
            owner text,
            effective_date date,
            review_by date,
            status text CHECK (status IN {_STATUSES}),
            supersedes text,
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE document_versions (
            document_id text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            number integer NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            sections jsonb,
            added text[],
            changed text[],
            removed text[],
            PRIMARY KEY (document_id, number)
        )
        """
    )
    op.execute(
        "INSERT INTO document_versions (document_id, number, created_at) "
        "SELECT id, 1, updated_at FROM documents"
    )


def downgrade() -> None:
    op.execute("DROP TABLE document_versions")
    op.execute("DROP TABLE document_overrides")
    op.execute("ALTER TABLE documents DROP COLUMN supersedes, DROP COLUMN status")
