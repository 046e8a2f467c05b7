"""What document owners and admins are told about overdue reviews (Markdown). Titles come from
documents and owners from their metadata: both are shown as literal text."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.markdown import literal
from knowledge.types import StoredDocument


def owner_reminder(documents: Sequence[StoredDocument]) -> str:
    """To an owner, at most weekly: every document of theirs whose review date has passed."""
    one = len(documents) == 1
    lines = [
        f"{'A document' if one else f'{len(documents)} documents'} you own "
        f"{'is' if one else 'are'} overdue for review:",
        *(_line(d) for d in documents),
        "",
        "Please check that each still says what is true, then give it a new review-by date "
        "(in its metadata, or `supportbot docs set DOC --review-by YYYY-MM-DD`).",
    ]
    return "\n".join(lines)


def owner_unreachable(owner: str, documents: Sequence[StoredDocument]) -> str:
    """To admins, once per owner: overdue documents whose owner no chat platform knows."""
    return "\n".join(
        [
            f"I can't reach {literal(owner)}, the owner of documents overdue for review, "
            "in Slack or Teams:",
            *(_line(d) for d in documents),
            "",
            "Check the owner (an e-mail address or chat id) with `supportbot docs set DOC "
            "--owner …`.",
        ]
    )


def owner_missing(document: StoredDocument) -> str:
    """To admins, once per document: an overdue document nobody owns."""
    return (
        f"{_line(document)[2:]}: overdue for review, and nobody owns it to remind. "
        "Give it an owner with `supportbot docs set DOC --owner …`."
    )


def _line(document: StoredDocument) -> str:
    title = literal(" ".join(document.title.split()))
    shown = (
        f"[{title}]({document.url})" if document.url.startswith(("https://", "http://")) else title
    )
    return f"- {shown} (review was due {document.review_by:%Y-%m-%d})"
