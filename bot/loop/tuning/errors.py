"""The one error of the tuning commands: its message is the whole story, on one line."""

from __future__ import annotations


class TuningError(Exception):
    """An export, a fine-tuning call or a comparison could not be done; the message says why."""
