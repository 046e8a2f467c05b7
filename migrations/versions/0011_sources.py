"""Sources that stay in sync: a named origin of documents (a website, a Confluence space…) and,
per source, the items it synced with their change markers.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

``sources`` holds what the operator configured (kind, settings without credentials, scopes,
interval) and how the last sync went. ``source_items`` maps each item at the source (a page's
URL or id) to the document it became, with the change marker the source gave it (a version, an
ETag, a modification time) and a hash of what was fetched, so an unchanged item is skipped
without being fetched, parsed or embedded again. Removing a source removes its items; its
documents are removed by the code that removes it, in the same transaction.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE sources (
            name text PRIMARY KEY,
            kind text NOT NULL,
            settings jsonb NOT NULL DEFAULT '{}',
            scopes text[] NOT NULL DEFAULT '{public}',
            interval_seconds integer NOT NULL CHECK (interval_seconds > 0),
            cursor text,
            created_at timestamptz NOT NULL DEFAULT now(),
            last_sync_at timestamptz,
            last_success_at timestamptz,
            last_error text,
            pages integer NOT NULL DEFAULT 0,
            added integer NOT NULL DEFAULT 0,
            updated integer NOT NULL DEFAULT 0,
            removed integer NOT NULL DEFAULT 0,
            failed integer NOT NULL DEFAULT 0
        )
        """
    )
    op.execute(
        """
        CREATE TABLE source_items (
            source text NOT NULL REFERENCES sources (name) ON DELETE CASCADE,
            item_id text NOT NULL,
            document_id text REFERENCES documents (id) ON DELETE SET NULL,
            change_token text NOT NULL DEFAULT '',
            content_hash text NOT NULL DEFAULT '',
            synced_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (source, item_id)
        )
        """
    )
    op.execute("CREATE INDEX source_items_document ON source_items (document_id)")


def downgrade() -> None:
    op.execute("DROP TABLE source_items")
    op.execute("DROP TABLE sources")
