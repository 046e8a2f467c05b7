"""Where the public evaluation sets are: ``SUPPORTBOT_EVAL_SETS``, else beside the checkout,
else the workplace's shared folder (CI checks main out elsewhere)."""

from __future__ import annotations

import os
from pathlib import Path

_CANDIDATES = [
    Path(os.environ.get("SUPPORTBOT_EVAL_SETS", "")),
    Path(__file__).resolve().parents[2] / "shared" / "eval",
    Path("/work/shared/eval"),
]
PUBLIC_SETS = next(
    (p for p in _CANDIDATES if str(p) != "." and (p / "conditionalqa-govuk").is_dir()),
    _CANDIDATES[1],
)
