"""Gaps may also be questions the bot answered unsure of.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

An offline answer whose sources may not answer the question says so and still quotes them
(``bot/core/coverage.py``); its question is queued for an admin like a declined one, with the
reason ``unsure``.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE gaps DROP CONSTRAINT gaps_reason_check")
    op.execute(
        "ALTER TABLE gaps ADD CONSTRAINT gaps_reason_check "
        "CHECK (reason IN ('declined', 'downvoted', 'improve', 'unsure'))"
    )


def downgrade() -> None:
    op.execute("DELETE FROM gaps WHERE reason = 'unsure'")
    op.execute("ALTER TABLE gaps DROP CONSTRAINT gaps_reason_check")
    op.execute(
        "ALTER TABLE gaps ADD CONSTRAINT gaps_reason_check "
        "CHECK (reason IN ('declined', 'downvoted', 'improve'))"
    )
