"""What the feedback loop tells admins and askers when a gap is answered.

Questions are someone's own words: they are quoted as literal Markdown, so a link or mention
in one is shown as typed, never made by the bot.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.markdown import literal


def gap_not_found(gap_id: int) -> str:
    return f"There is no question #{gap_id} in the queue."


def gap_answered(gap_id: int, question: str, scopes: Sequence[str], *, told: int) -> str:
    people = (
        "nobody was waiting to be told"
        if not told
        else ("told the asker" if told == 1 else f"told {told} askers")
    )
    return (
        f"Saved your answer to #{gap_id} (“{literal(_inline(question))}”) as a document "
        f"visible to {', '.join(scopes)}; I'll answer from it from now on, and {people}."
    )


def gap_answered_notice(question: str, answer: str, *, improved: bool) -> str:
    """To the asker, in their question's thread, when an admin answers it."""
    return f"An admin has {_what(improved)} your question{_quote(question)}:\n\n{answer}"


def gap_answered_privately(question: str, answer: str, *, improved: bool) -> str:
    """To the asker alone, when not everyone in the channel they asked in may see the answer."""
    return (
        f"An admin has {_what(improved)} the question you asked in a channel{_quote(question)}. "
        f"Not everyone there may see the answer, so here it is just for you:\n\n{answer}"
    )


def gap_answered_out_of_reach(question: str, *, improved: bool) -> str:
    """To the asker alone, when the admin limited the answer to people they are not among."""
    return (
        f"An admin has {_what(improved)} your question{_quote(question)}, but only some teams "
        "may see that answer, so I can't show it to you."
    )


def _what(improved: bool) -> str:
    return "improved the answer to" if improved else "answered"


def _quote(question: str) -> str:
    """`` “question”`` as the asker typed it (on one line), or nothing when it is unknown."""
    return f" “{literal(_inline(question))}”" if question.strip() else ""


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
