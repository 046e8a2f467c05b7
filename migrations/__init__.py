"""Alembic migrations: the only place that creates or changes the database schema."""

from pathlib import Path

SCRIPT_LOCATION = Path(__file__).resolve().parent
