"""What the feedback loop tells admins and askers when a gap is answered."""

from __future__ import annotations

from collections.abc import Sequence


def gap_not_found(gap_id: int) -> str:
    return f"There is no question #{gap_id} in the queue."


def gap_answered(gap_id: int, question: str, scopes: Sequence[str], *, told: int) -> str:
    people = (
        "nobody was waiting in a thread"
        if not told
        else (
            "told the asker in their thread"
            if told == 1
            else f"told {told} askers in their threads"
        )
    )
    return (
        f"Saved your answer to #{gap_id} (“{_inline(question)}”) as a document visible to "
        f"{', '.join(scopes)}; I'll answer from it from now on, and {people}."
    )


def gap_answered_notice(question: str, answer: str, *, improved: bool) -> str:
    """To the asker, in their question's thread, when an admin answers it."""
    what = "improved the answer to" if improved else "answered"
    return f"An admin has {what} your question “{_inline(question)}”:\n\n{answer}"


def answer_forgotten() -> str:
    return (
        "I no longer remember that question, so I can't attach an answer to it. "
        "Add the information with `kb add` instead."
    )


def gap_not_saved() -> str:
    return "the question could not be queued"


def _inline(text: str, limit: int = 200) -> str:
    """``text`` on one line, cut at ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def failed(reason: str) -> str:
    return f"That did not work: {reason}"
