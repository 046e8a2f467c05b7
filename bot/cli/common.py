"""What the ``supportbot`` commands share: exit codes and reading their arguments."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TypeAlias

from bot.cli import messages

EXIT_OK, EXIT_FAILED = 0, 1

# The subparsers object each command group adds its commands to.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def read_texts(single: str | None, batch: Path | None, what: str) -> list[str] | None:
    """The one text given, or the non-empty lines of the batch file; None after an error."""
    if (single is None) == (batch is None):
        print(messages.error(f"give either {what} or --batch FILE"), file=sys.stderr)
        return None
    if batch is None:
        return [single] if single is not None else None
    try:
        return [line.strip() for line in batch.read_text().splitlines() if line.strip()]
    except OSError as e:
        print(messages.error(f"{batch}: {e.strerror}"), file=sys.stderr)
        return None


def parse_scopes(values: list[str]) -> tuple[str, ...]:
    """The scopes of repeated, comma-separated ``--scope`` values: trimmed, lower-case, sorted."""
    scopes = {s.strip().lower() for value in values for s in value.split(",") if s.strip()}
    return tuple(sorted(scopes))


def jsonable(value: Any) -> Any:
    """``value`` with tuples as lists and dates as ISO strings, for ``json.dumps``."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
