"""Changes are announced once: which versions were announced, and who subscribed to them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

``document_versions.announced_at`` is when a replica of `supportbot serve` claimed a version
to tell about it (askers whose answers quoted a changed section, subscribed channels); a
replica claims a version by setting it where it is still NULL, so no change is told twice.
``document_versions.texts`` keeps each section's text, so that an announcement can say what
the difference is (a chat model summarises the old and new text of the changed sections).
Versions recorded before this revision count as announced: they are history, not news.
``change_subscriptions`` are the channels admins subscribed to changes, each with the scopes
it asked for (none: every document the channel may see). ``review_reminders`` says when each
document owner was last reminded of their overdue reviews (at most weekly), and when admins
were told that an owner cannot be reached (once); a document without an owner is keyed
``document:<id>``. ``document_overrides.cleared`` names the fields `supportbot docs set
--clear` emptied: the document has none of them, whatever its file says.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE document_versions ADD COLUMN announced_at timestamptz, ADD COLUMN texts jsonb"
    )
    op.execute("UPDATE document_versions SET announced_at = created_at")
    op.execute(
        "CREATE INDEX document_versions_unannounced ON document_versions (created_at) "
        "WHERE announced_at IS NULL"
    )
    op.execute(
        """
        CREATE TABLE change_subscriptions (
            platform text NOT NULL,
            channel text NOT NULL,
            address jsonb NOT NULL,
            scopes text[] NOT NULL DEFAULT '{}',
            created_by text,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (platform, channel)
        )
        """
    )

    op.execute("ALTER TABLE document_overrides ADD COLUMN cleared text[] NOT NULL DEFAULT '{}'")
    op.execute(
        """
        CREATE TABLE review_reminders (
            owner text PRIMARY KEY,
            reminded_at timestamptz,
            unknown_reported_at timestamptz
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE review_reminders")
    op.execute("ALTER TABLE document_overrides DROP COLUMN cleared")
    op.execute("DROP TABLE change_subscriptions")
    op.execute("DROP INDEX document_versions_unannounced")
    op.execute("ALTER TABLE document_versions DROP COLUMN announced_at, DROP COLUMN texts")
