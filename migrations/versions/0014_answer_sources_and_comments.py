"""What each answer cited and on which platform; a vote's comment; the corpus's own id.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

``answers.cited_documents`` lists the ids of the documents an answer's citations point at (no
text, so the answer log still keeps nothing of what was asked), which lets the console say how
often each document is cited and which never are. ``answers.platform`` (slack, teams, cli, web)
splits usage by platform. ``feedback.comment`` keeps the optional words a voter types with a
vote (Teams' native feedback form asks for them). ``corpus.instance`` is a random id per
knowledge base: cached answers are keyed by it as well as by the corpus version, so two
deployments sharing one Redis (staging and production, say) never serve each other's answers.
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
    op.execute("ALTER TABLE corpus ADD COLUMN instance uuid NOT NULL DEFAULT gen_random_uuid()")


def downgrade() -> None:
    op.execute("ALTER TABLE corpus DROP COLUMN instance")
    op.execute("ALTER TABLE feedback DROP COLUMN comment")
    op.execute("ALTER TABLE answers DROP COLUMN cited_documents")
    op.execute("ALTER TABLE answers DROP COLUMN platform")
