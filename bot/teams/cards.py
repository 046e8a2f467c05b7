"""Answers as Teams messages: an Adaptive Card with the answer, its sources and its buttons.

The buttons are ``Action.Submit``: Teams sends their ``data`` back as a message activity whose
``value`` is that data, which ``CardAction.from_value`` reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from botbuilder.schema import Activity, ActivityTypes, Attachment

from bot import messages
from bot.teams.markdown import to_card_blocks, to_plain_text
from bot.types import Answer

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.4"
# Marks the bot's own buttons' data, so other submits (from other apps' cards) are ignored.
ACTION_KEY = "supportbot"
# Notifications and the activity feed show ``summary``; keep it to a glance.
SUMMARY_CHARS = 200
# What the "Ask a human" button carries of the question and the answer (cards are capped at
# about 28 KB in Teams).
QUESTION_EXCERPT_CHARS = 1000
ANSWER_EXCERPT_CHARS = 1500

Verb = Literal["helpful", "not_helpful", "ask_human"]
VERBS: tuple[Verb, ...] = ("helpful", "not_helpful", "ask_human")


@dataclass(frozen=True)
class CardAction:
    """A press of one of the answer card's buttons."""

    verb: Verb
    answer_id: str
    question: str = ""
    answer: str = ""

    def data(self) -> dict[str, str]:
        return {
            ACTION_KEY: self.verb,
            "answer_id": self.answer_id,
            "question": self.question,
            "answer": self.answer,
        }

    @classmethod
    def from_value(cls, value: Any) -> CardAction | None:
        """The action in a submitted card's ``value``, or None when it is not one of ours."""
        if not isinstance(value, dict):
            return None
        verb = value.get(ACTION_KEY)
        answer_id = value.get("answer_id")
        if verb not in VERBS or not isinstance(answer_id, str) or not answer_id:
            return None
        return cls(
            verb=verb,
            answer_id=answer_id,
            question=str(value.get("question") or ""),
            answer=str(value.get("answer") or ""),
        )


def answer_activity(answer: Answer, *, question: str) -> Activity:
    """The reply to a question: a card, with a plain-text summary for notifications."""
    plain = to_plain_text(answer.text)
    return Activity(
        type=ActivityTypes.message,
        summary=_excerpt(plain, SUMMARY_CHARS),
        attachments=[Attachment(content_type=ADAPTIVE_CARD, content=answer_card(answer, question))],
    )


def plain_answer_activity(answer: Answer) -> Activity:
    """The answer without a card, for when a card cannot be delivered: text and source links."""
    lines = [to_plain_text(answer.text)]
    if answer.citations:
        lines += ["", f"{messages.SOURCES_HEADING}:"]
        lines += [f"{c.n}. {_where(c.title, c.section)}: {c.url}" for c in answer.citations]
    return Activity(type=ActivityTypes.message, text="\n".join(lines), text_format="plain")


def answer_card(answer: Answer, question: str) -> dict[str, Any]:
    body: list[dict[str, Any]] = [_text(block) for block in to_card_blocks(answer.text)]
    if answer.citations:
        body.append(
            _text(f"**{messages.SOURCES_HEADING}**", separator=True, spacing="Medium")
            | {"size": "Small"}
        )
        body.append(
            _text(
                "\n".join(
                    f"{c.n}. {_link(c.url, _where(c.title, c.section))}" for c in answer.citations
                )
            )
            | {"size": "Small"}
        )
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "fallbackText": to_plain_text(answer.text),
        "body": body,
        "msteams": {"width": "Full"},
    }
    if answer.outcome in ("answered", "not_covered", "unavailable"):
        card["actions"] = _actions(answer, question)
    return card


def _actions(answer: Answer, question: str) -> list[dict[str, Any]]:
    ask_human = CardAction(
        "ask_human",
        answer.id,
        question=_excerpt(question, QUESTION_EXCERPT_CHARS),
        answer=_excerpt(to_plain_text(answer.text), ANSWER_EXCERPT_CHARS),
    )
    actions = [(messages.BUTTON_ASK_HUMAN, ask_human)]
    if answer.outcome != "unavailable":
        actions[:0] = [
            (messages.BUTTON_HELPFUL, CardAction("helpful", answer.id)),
            (messages.BUTTON_NOT_HELPFUL, CardAction("not_helpful", answer.id)),
        ]
    return [{"type": "Action.Submit", "title": title, "data": a.data()} for title, a in actions]


def _text(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **extra}


def _where(title: str, section: str) -> str:
    return " › ".join(part for part in (title, section) if part)


def _link(url: str, label: str) -> str:
    """A card Markdown link; brackets in the label and ``)`` in the URL would end it early."""
    safe_url = quote(url, safe=":/?#@!$&'*+,;=%~-._")
    safe_label = label.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    return f"[{safe_label}]({safe_url})"


def _excerpt(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
