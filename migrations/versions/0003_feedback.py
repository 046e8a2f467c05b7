"""Feedback: one vote per person per answer, from the chat adapters' 👍/👎 buttons.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No foreign key to answers: the answer log is best effort, a vote must never be lost to it.
    op.execute(
        """
        CREATE TABLE feedback (
            answer_id text NOT NULL,
            voter_hash text NOT NULL,
            vote smallint NOT NULL CHECK (vote IN (-1, 1)),
            platform text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (answer_id, voter_hash)
        )
        """
    )
    op.execute("CREATE INDEX feedback_created_at ON feedback (created_at)")


def downgrade() -> None:
    op.execute("DROP TABLE feedback")
