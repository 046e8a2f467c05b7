"""Which replica posts the answer to each question.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

``question_posts`` has one row per question a replica is about to answer, keyed by the
platform's id for it (``slack:event:<event id>``, ``teams:activity:<conversation>:<id>``): the
replica that inserts it first posts the answer, and ``posted_at`` says it did. It is the
record of "answered" that outlives Redis being restarted or emptied, which would otherwise let
a redelivered question be answered twice. Rows older than a day are deleted.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE question_posts (
            question_key text PRIMARY KEY,
            owner text NOT NULL,
            claimed_at timestamptz NOT NULL DEFAULT now(),
            posted_at timestamptz
        )
        """
    )
    op.execute("CREATE INDEX question_posts_claimed_at ON question_posts (claimed_at)")


def downgrade() -> None:
    op.execute("DROP TABLE question_posts")
