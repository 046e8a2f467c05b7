"""Gaps and examples keep who may see them: a gap's privacy, each asker's own wording, and the
scopes of a training example.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25

Questions asked in a private chat group only with each other; each asker is told with their
own question; an export can leave out examples written from restricted documents.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Not a valid scope name, so no export's scope filter lets in an example of unknown origin.
REMOVED_DOCUMENT = "(removed)"


def upgrade() -> None:
    op.execute("ALTER TABLE gaps ADD COLUMN private boolean NOT NULL DEFAULT false")
    # Asked in a Slack DM (its channel id starts with D) or a Teams personal chat.
    op.execute(
        """
        UPDATE gaps g SET private = true WHERE EXISTS (
            SELECT 1 FROM gap_askers a WHERE a.gap_id = g.id AND (
                a.reply_to -> 'address' ->> 'channel' LIKE 'D%'
                OR a.reply_to -> 'address' -> 'reference' -> 'conversation'
                    ->> 'conversationType' = 'personal'))
        """
    )
    # The asker's own question; the gap's text was its first asker's, the others' is unknown.
    op.execute("ALTER TABLE gap_askers ADD COLUMN question text")
    op.execute(
        """
        UPDATE gap_askers a SET question = g.question FROM gaps g
        WHERE g.id = a.gap_id AND a.asked_at = (
            SELECT min(b.asked_at) FROM gap_askers b WHERE b.gap_id = a.gap_id)
        """
    )
    # An example is for those who may see every document it was written from.
    op.execute("ALTER TABLE answer_examples ADD COLUMN scopes text[]")
    op.execute(
        sa.text(
            """
            UPDATE answer_examples e SET scopes = ARRAY(
                SELECT DISTINCT coalesce(scope, :removed)
                FROM jsonb_array_elements(e.sources) AS source(chunk)
                LEFT JOIN documents d ON d.id = source.chunk ->> 'document_id'
                LEFT JOIN LATERAL unnest(d.scopes) AS scope ON true
                ORDER BY 1)
            """
        ).bindparams(removed=REMOVED_DOCUMENT)
    )
    op.execute("UPDATE answer_examples SET scopes = '{public}' WHERE cardinality(scopes) = 0")
    op.execute("ALTER TABLE answer_examples ALTER COLUMN scopes SET NOT NULL")


def downgrade() -> None:
    op.execute("ALTER TABLE answer_examples DROP COLUMN scopes")
    op.execute("ALTER TABLE gap_askers DROP COLUMN question")
    op.execute("ALTER TABLE gaps DROP COLUMN private")
