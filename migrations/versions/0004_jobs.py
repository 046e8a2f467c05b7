"""Background jobs: procrastinate's queue tables, shared by every replica.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21

The schema is the one shipped with the pinned procrastinate version. Upgrading procrastinate
to a version with schema changes needs a new revision that applies its migration files.
"""

from collections.abc import Sequence

from alembic import op
from procrastinate.schema import SchemaManager

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("procrastinate_events", "procrastinate_periodic_defers", "procrastinate_jobs",
           "procrastinate_workers")  # fmt: skip
_TYPES = ("procrastinate_job_to_defer_v1", "procrastinate_job_event_type",
          "procrastinate_job_status")  # fmt: skip


def upgrade() -> None:
    # Executed without parameters, so the driver leaves the PL/pgSQL's own % placeholders alone.
    cursor = op.get_bind().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(SchemaManager.get_schema())


def downgrade() -> None:
    op.execute(f"DROP TABLE IF EXISTS {', '.join(_TABLES)} CASCADE")
    op.execute(
        """
        DO $$
        DECLARE f record;
        BEGIN
            FOR f IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
                     WHERE p.proname LIKE 'procrastinate\\_%' LOOP
                EXECUTE 'DROP FUNCTION ' || f.signature || ' CASCADE';
            END LOOP;
        END $$
        """
    )
    op.execute(f"DROP TYPE IF EXISTS {', '.join(_TYPES)} CASCADE")
