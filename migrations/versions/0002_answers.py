"""Answers: one row per answer for cost, latency and (later) feedback.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE answers (
            id text PRIMARY KEY,
            created_at timestamptz NOT NULL DEFAULT now(),
            outcome text NOT NULL,
            grounded boolean NOT NULL,
            cached boolean NOT NULL,
            model text NOT NULL,
            prompt_tokens integer NOT NULL DEFAULT 0,
            completion_tokens integer NOT NULL DEFAULT 0,
            cost_usd double precision NOT NULL DEFAULT 0,
            latency_ms double precision NOT NULL,
            question_hash text NOT NULL,
            asker_hash text,
            corpus_version bigint
        )
        """
    )
    op.execute("CREATE INDEX answers_created_at ON answers (created_at)")


def downgrade() -> None:
    op.execute("DROP TABLE answers")
