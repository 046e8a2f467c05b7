"""Files sent to the bot wait here for the job that ingests them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

``uploads`` holds the bytes of a file an admin sent the bot (Slack or Teams), keyed by the
platform's file id and a hash of the bytes, until a job on the queue ingests it; any replica's
worker can. The job then drops the bytes (``data`` becomes NULL, ``finished_at`` is set) and
keeps the row, so the same file delivered again (a redelivered event, a message replayed after
a replica died) is recognised and never ingested twice.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE uploads (
            file_key text PRIMARY KEY,
            name text NOT NULL,
            link text NOT NULL,
            data bytea,
            received_at timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE uploads")
