"""What the tuning commands remember between runs: the last export and the last job.

A small JSON file, ``SUPPORTBOT_HOME/tune/state.json``, so that ``tune start`` uploads the last
export and ``tune status`` and ``eval --compare`` need no arguments.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.loop.tuning import messages
from bot.loop.tuning.errors import TuningError
from bot.loop.tuning.files import write_atomically


@dataclass(frozen=True)
class TuneState:
    training_file: Path | None = None
    validation_file: Path | None = None
    job_id: str | None = None


def state_path(home: Path) -> Path:
    return home / "tune" / "state.json"


def load_state(home: Path) -> TuneState:
    """The remembered state; an empty one before the first export. Raises ``TuningError``
    when the file is unreadable."""
    path = state_path(home)
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return TuneState()
    except (OSError, ValueError) as e:
        raise TuningError(messages.tune_state_unreadable(path, str(e))) from None
    return TuneState(
        training_file=_path(data.get("training_file")),
        validation_file=_path(data.get("validation_file")),
        job_id=data.get("job_id") or None,
    )


def save_state(home: Path, state: TuneState) -> None:
    """Remember ``state``. Raises ``OSError``."""
    path = state_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "training_file": str(state.training_file) if state.training_file else None,
        "validation_file": str(state.validation_file) if state.validation_file else None,
        "job_id": state.job_id,
    }
    write_atomically({path: json.dumps(data, indent=2) + "\n"})


def _path(value: Any) -> Path | None:
    return Path(value) if isinstance(value, str) and value else None
