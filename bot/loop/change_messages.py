"""What the bot says when a document changes: to askers whose answer quoted it, and in
channels subscribed to changes.

Titles and section names come from documents and questions from people: both are quoted as
literal Markdown, so nothing in them becomes a link or a mention the bot seems to make.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.citations import citation_note
from bot.core.markdown import literal
from bot.core.types import Answer


def answer_markdown(answer: Answer) -> str:
    """An answer as Markdown with its numbered sources under it, linked where they can be."""
    lines = [answer.text]
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
    for citation in answer.citations:
        name = literal(" › ".join(p for p in (citation.title, citation.section) if p))
        shown = f"[{name}]({citation.url})" if citation.has_web_link else name
        note = citation_note(citation)
        lines.append(f"{citation.n}. {shown}" + (f" ({note})" if note else ""))
    return "\n".join(lines)


def quoted_policy_changed(question: str, title: str, fresh: str) -> str:
    """In the thread of an answer whose quoted section changed, with the fresh answer."""
    return (
        f"The policy this answer quoted has changed: *{literal(_inline(title))}* was updated. "
        f"Here is the answer to your question{_quote(question)} from the current text:\n\n{fresh}"
    )


def quoted_policy_changed_privately(question: str, title: str, fresh: str) -> str:
    """To the asker alone, when not everyone in their thread may see the fresh answer."""
    return (
        f"The policy an answer of mine quoted in a channel has changed: "
        f"*{literal(_inline(title))}* was updated. Not everyone there may see the new answer to "
        f"your question{_quote(question)}, so here it is just for you:\n\n{fresh}"
    )


def quoted_policy_changed_out_of_reach(question: str, title: str) -> str:
    """To the asker alone, when they may no longer see what the fresh answer is written from."""
    return (
        f"The policy an answer of mine to your question{_quote(question)} quoted has changed: "
        f"*{literal(_inline(title))}* was updated, but I can't show you the new answer."
    )


def quoted_policy_changed_ask_again(question: str, title: str) -> str:
    """To the asker alone, when no fresh answer could be written just now."""
    return (
        f"The policy an answer of mine to your question{_quote(question)} quoted has changed: "
        f"*{literal(_inline(title))}* was updated. Please ask me again for the current answer."
    )


def change_announcement(
    title: str,
    url: str,
    *,
    added: Sequence[str] | None,
    changed: Sequence[str] | None,
    removed: Sequence[str] | None,
    summary: str | None = None,
    new: bool = False,
) -> str:
    """One document's change, for a subscribed channel: what changed, linked to the new text
    (``new``: the document was just added, its sections are not listed)."""
    name = literal(_inline(title))
    heading = f"[{name}]({url})" if url.startswith(("https://", "http://")) else f"*{name}*"
    if new:
        return f"{heading} was added to the knowledge base."
    lines = [f"{heading} has changed."]
    if added is None and changed is None and removed is None:
        lines.append("Which sections changed is not known (it was stored before versions were).")
    for label, names in (("Added", added), ("Changed", changed), ("Removed", removed)):
        if names:
            lines.append(f"{label}: " + ", ".join(literal(_inline(n)) for n in names))
    if summary:
        lines.append("")
        lines.append(literal(summary))
    return "\n".join(lines)


def _quote(question: str) -> str:
    return f" “{literal(_inline(question))}”" if question.strip() else ""


def _inline(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
