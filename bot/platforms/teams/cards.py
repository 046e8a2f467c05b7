"""Answers as Teams messages: an Adaptive Card with the answer, its sources and its buttons.

The buttons are ``Action.Submit`` (the votes of cards sent before Teams' own feedback too):
Teams sends their ``data`` back as a message activity whose ``value`` is that data, which
``CardAction.from_value`` reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from botbuilder.schema import Activity, ActivityTypes, Attachment

from bot.core.citations import citation_note
from bot.core.types import Answer, Citation
from bot.loop.curation import default_scopes, without_markers
from bot.loop.gaps import Gap
from bot.platforms import messages
from bot.platforms.teams.entities import RawEntity, ai_message, native_feedback
from bot.platforms.teams.markdown import to_card_blocks, to_plain_text

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

Verb = Literal["helpful", "not_helpful", "ask_human", "contact_ok", "improve", "answer_gap"]
VERBS: tuple[Verb, ...] = (
    "helpful", "not_helpful", "ask_human", "contact_ok", "improve", "answer_gap"
)  # fmt: skip
# The ids of the admin answer form's inputs: Teams adds their values to the submit's data.
INPUT_QUESTION, INPUT_ANSWER, INPUT_SCOPES = (
    "supportbot_question", "supportbot_answer", "supportbot_scopes"
)  # fmt: skip
# Each form's text as sent; Teams caps a card at about 28 KB.
FORM_ANSWER_CHARS = 3000
# Questions shown per gap in ``kb gaps``.
GAPS_SHOWN = 10


@dataclass(frozen=True)
class CardAction:
    """A press of one of the bot's card buttons. ``answer_id`` is the answer it was on
    (``gap_id`` the gap, for ``answer_gap``); ``inputs`` what an admin typed in a form."""

    verb: Verb
    answer_id: str = ""
    question: str = ""
    answer: str = ""
    gap_id: int | None = None
    inputs: Mapping[str, str] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = {ACTION_KEY: self.verb, "answer_id": self.answer_id}
        if self.question or self.answer:
            data |= {"question": self.question, "answer": self.answer}
        if self.gap_id is not None:
            data["gap_id"] = self.gap_id
        return data

    @classmethod
    def from_value(cls, value: Any) -> CardAction | None:
        """The action in a submitted card's ``value``, or None when it is not one of ours."""
        if not isinstance(value, dict):
            return None
        verb = value.get(ACTION_KEY)
        answer_id = value.get("answer_id")
        gap_id = value.get("gap_id")
        if verb not in VERBS or not isinstance(answer_id, str):
            return None
        if verb == "answer_gap" and not isinstance(gap_id, int):
            return None
        if verb != "answer_gap" and not answer_id:
            return None
        inputs = (INPUT_QUESTION, INPUT_ANSWER, INPUT_SCOPES)
        return cls(
            verb=verb,
            answer_id=answer_id,
            question=str(value.get("question") or ""),
            answer=str(value.get("answer") or ""),
            gap_id=gap_id if isinstance(gap_id, int) else None,
            inputs={k: str(value[k]) for k in inputs if isinstance(value.get(k), str)},
        )


def answer_activity(answer: Answer, *, question: str) -> Activity:
    """The reply to a question: a card, with a plain-text summary for notifications, under
    which Teams shows its own 👍/👎."""
    plain = to_plain_text(answer.text)
    return Activity(
        type=ActivityTypes.message,
        summary=_excerpt(plain, SUMMARY_CHARS),
        attachments=[Attachment(content_type=ADAPTIVE_CARD, content=answer_card(answer, question))],
        entities=ai_entities(answer),
        channel_data=native_feedback(answer),
    )


def ai_entities(answer: Answer) -> list[RawEntity]:
    """The AI label and citations, on what a model or the offline writer wrote."""
    return [ai_message(answer)] if answer.outcome in ("answered", "not_covered") else []


def buttons_card(answer: Answer, question: str) -> Attachment | None:
    """The answer's buttons, as a card under a streamed answer's text; None when there are
    none."""
    actions = _actions(answer, question)
    if not actions:
        return None
    card = {"type": "AdaptiveCard", "version": CARD_VERSION, "body": [], "actions": actions}
    return Attachment(content_type=ADAPTIVE_CARD, content=card)


def plain_answer_activity(answer: Answer) -> Activity:
    """The answer without a card, for when a card cannot be delivered: text and source links."""
    lines = [to_plain_text(answer.text)]
    if answer.citations:
        lines += ["", f"{messages.SOURCES_HEADING}:"]
        lines += [
            f"{c.n}. {_where(c.title, c.section)}"
            + (f": {c.url}" if c.has_web_link else "")
            + (f" ({note})" if (note := citation_note(c)) else "")
            for c in answer.citations
        ]
    return Activity(
        type=ActivityTypes.message,
        text="\n".join(lines),
        text_format="plain",
        entities=ai_entities(answer),
        channel_data=native_feedback(answer),
    )


def answer_card(answer: Answer, question: str) -> dict[str, Any]:
    body: list[dict[str, Any]] = [_text(block) for block in to_card_blocks(answer.text)]
    if answer.citations:
        body.append(
            _text(f"**{messages.SOURCES_HEADING}**", separator=True, spacing="Medium")
            | {"size": "Small"}
        )
        body.append(
            _text("\n".join(f"{c.n}. {_cited(c)}" for c in answer.citations)) | {"size": "Small"}
        )
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "fallbackText": to_plain_text(answer.text),
        "body": body,
        "msteams": {"width": "Full"},
    }
    if answer.outcome == "not_covered":
        body.append(_text(messages.CONTACT_CONSENT_PROMPT, isSubtle=True) | {"size": "Small"})
    if answer.outcome in ("answered", "not_covered", "unavailable"):
        card["actions"] = _actions(answer, question)
    return card


def _actions(answer: Answer, question: str) -> list[dict[str, Any]]:
    """The answer's buttons; the votes are Teams' own (``native_feedback``)."""
    ask_human = CardAction(
        "ask_human",
        answer.id,
        question=_excerpt(question, QUESTION_EXCERPT_CHARS),
        answer=_excerpt(to_plain_text(answer.text), ANSWER_EXCERPT_CHARS),
    )
    actions = [(messages.BUTTON_ASK_HUMAN, ask_human)]
    if answer.outcome == "not_covered":
        actions.append((messages.BUTTON_CONTACT_OK, CardAction("contact_ok", answer.id)))
    buttons: list[dict[str, Any]] = [
        {"type": "Action.Submit", "title": title, "data": a.data()} for title, a in actions
    ]
    if answer.outcome in ("answered", "not_covered"):
        # For admins; in the overflow menu so it does not crowd everyone else's buttons.
        form = answer_form(
            CardAction("improve", answer.id),
            question=question,
            answer=without_markers(answer.text) if answer.outcome == "answered" else "",
            scopes="",
        )
        buttons.append(_show_card(messages.BUTTON_IMPROVE, form) | {"mode": "secondary"})
    return buttons


def answer_form(submit: CardAction, *, question: str, answer: str, scopes: str) -> dict[str, Any]:
    """The card in which an admin answers a gap or improves an answer (scopes empty: the
    cautious default the curator picks)."""
    return {
        "type": "AdaptiveCard",
        "body": [
            _input(INPUT_QUESTION, messages.FIELD_QUESTION, question),
            _input(
                INPUT_ANSWER,
                messages.FIELD_ANSWER,
                answer,
                multiline=True,
                placeholder=messages.FIELD_ANSWER_HINT,
            ),
            _input(
                INPUT_SCOPES,
                messages.FIELD_SCOPES,
                scopes,
                placeholder=messages.FIELD_SCOPES_HINT.replace("`", ""),
            ),
        ],
        "actions": [
            {"type": "Action.Submit", "title": messages.BUTTON_SAVE_ANSWER, "data": submit.data()}
        ],
    }


def gap_list_activity(gaps: Sequence[Gap], total: int) -> Activity:
    """``kb gaps``: the most asked open gaps, each with a form to answer it."""
    if not gaps:
        return Activity(type=ActivityTypes.message, text=messages.no_gaps())
    body: list[dict[str, Any]] = [_text(messages.gaps_heading(len(gaps), total))]
    for gap in gaps:
        lines = [messages.gap_summary(gap)]
        if gap.contacts:
            lines.append(messages.gap_contacts(gap.contacts))
        form = answer_form(
            CardAction("answer_gap", gap_id=gap.id),
            question=gap.question,
            answer="",
            scopes=" ".join(default_scopes(gap.scopes)),
        )
        body.append(
            {
                "type": "Container",
                "separator": True,
                "spacing": "Medium",
                "items": [
                    *(_text(block) for block in to_card_blocks("\n\n".join(lines))),
                    {
                        "type": "ActionSet",
                        "actions": [_show_card(f"{messages.BUTTON_ANSWER_GAP} #{gap.id}", form)],
                    },
                ],
            }
        )
    card = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "body": body,
        "msteams": {"width": "Full"},
    }
    return Activity(
        type=ActivityTypes.message,
        summary=messages.gaps_heading(len(gaps), total),
        attachments=[Attachment(content_type=ADAPTIVE_CARD, content=card)],
    )


def consent_activity(answer_id: str) -> Activity:
    """Whether admins may see who asked, with its button."""
    card = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "body": [_text(messages.CONTACT_CONSENT_PROMPT)],
        "actions": [
            {
                "type": "Action.Submit",
                "title": messages.BUTTON_CONTACT_OK,
                "data": CardAction("contact_ok", answer_id).data(),
            }
        ],
    }
    return Activity(
        type=ActivityTypes.message,
        summary=messages.CONTACT_CONSENT_PROMPT,
        attachments=[Attachment(content_type=ADAPTIVE_CARD, content=card)],
    )


def _show_card(title: str, card: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Action.ShowCard", "title": title, "card": card}


def _input(
    input_id: str, label: str, value: str, *, multiline: bool = False, placeholder: str = ""
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "Input.Text",
        "id": input_id,
        "label": label,
        "value": value[:FORM_ANSWER_CHARS],
        "maxLength": FORM_ANSWER_CHARS,
        "isMultiline": multiline,
    }
    if placeholder:
        element["placeholder"] = placeholder
    return element


def _text(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **extra}


def _where(title: str, section: str) -> str:
    return " › ".join(part for part in (title, section) if part)


def _cited(citation: Citation) -> str:
    where = _where(citation.title, citation.section)
    named = _link(citation.url, where) if citation.has_web_link else _escape_label(where)
    note = citation_note(citation)
    return f"{named} ({_escape_label(note)})" if note else named


def _escape_label(label: str) -> str:
    return label.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def _link(url: str, label: str) -> str:
    """A card Markdown link; brackets in the label and ``)`` in the URL would end it early."""
    safe_url = quote(url, safe=":/?#@!$&'*+,;=%~-._")
    return f"[{_escape_label(label)}]({safe_url})"


def _excerpt(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
