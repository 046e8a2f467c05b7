"""What each answer cited and on which platform; the comment sent with a vote.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

``answers.cited_documents`` lists the ids of the documents an answer's citations point at (no
text, so the answer log still keeps nothing of what was asked), which lets the console say how
often each document is cited and which never are. ``answers.platform`` (slack, teams, cli, web)
splits usage by platform. ``feedback.comment`` keeps the optional words a voter types with a
vote (Teams' native feedback form asks for them).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE answers ADD COLUMN platform text")
    op.execute("ALTER TABLE answers ADD COLUMN cited_documents text[] NOT NULL DEFAULT '{}'")
    op.execute("ALTER TABLE feedback ADD COLUMN comment text")


def downgrade() -> None:
    op.execute("ALTER TABLE feedback DROP COLUMN comment")
    op.execute("ALTER TABLE answers DROP COLUMN cited_documents")
    op.execute("ALTER TABLE answers DROP COLUMN platform")
