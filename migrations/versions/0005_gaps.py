"""Gaps and approved answers: what the bot could not answer, and what people approved.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21

The answer log keeps no question text. These tables keep it only where someone needs it: a
question the bot declined or that got a 👎 (so an admin can answer it), and an answer
someone approved (so the house tone can be trained on it).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # One row per distinct question; askers of similar questions join it in gap_askers.
    op.execute(
        """
        CREATE TABLE gaps (
            id bigserial PRIMARY KEY,
            question text NOT NULL,
            reason text NOT NULL CHECK (reason IN ('declined', 'downvoted', 'improve')),
            status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered')),
            scopes text[] NOT NULL,
            sources jsonb NOT NULL DEFAULT '[]',
            bot_answer text,
            embedding real[],
            times_asked integer NOT NULL DEFAULT 1,
            first_asked_at timestamptz NOT NULL DEFAULT now(),
            last_asked_at timestamptz NOT NULL DEFAULT now(),
            answered_by text,
            answered_at timestamptz,
            document_id text
        )
        """
    )
    op.execute("CREATE INDEX gaps_open ON gaps (last_asked_at) WHERE status = 'open'")
    # ``contact`` (a platform mention) is set only when the asker agreed to be contacted.
    op.execute(
        """
        CREATE TABLE gap_askers (
            gap_id bigint NOT NULL REFERENCES gaps (id) ON DELETE CASCADE,
            answer_id text NOT NULL,
            asker_hash text,
            reply_to jsonb,
            contact text,
            asked_at timestamptz NOT NULL DEFAULT now(),
            notified_at timestamptz,
            PRIMARY KEY (gap_id, answer_id)
        )
        """
    )
    op.execute("CREATE INDEX gap_askers_answer ON gap_askers (answer_id)")
    # Training examples: answers people voted on (approved when their votes are net 👍) and
    # answers admins wrote. ``sources`` are exactly what the writer was given.
    op.execute(
        """
        CREATE TABLE answer_examples (
            id bigserial PRIMARY KEY,
            kind text NOT NULL CHECK (kind IN ('voted', 'admin')),
            answer_id text UNIQUE,
            gap_id bigint REFERENCES gaps (id) ON DELETE SET NULL,
            question text NOT NULL,
            sources jsonb NOT NULL,
            answer text NOT NULL,
            model text NOT NULL DEFAULT '',
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE answer_examples")
    op.execute("DROP TABLE gap_askers")
    op.execute("DROP TABLE gaps")
