"""Which documents' links a link check found broken.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

``link_problem`` is what the last ``supportbot docs --check-links`` that reached a document
found wrong with its link (NULL when it opened, or was never checked), ``link_checked_at``
when. Writing a document forgets both: its anchors may not be the ones checked.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE documents ADD COLUMN link_problem text, ADD COLUMN link_checked_at timestamptz"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE documents DROP COLUMN link_checked_at, DROP COLUMN link_problem")
