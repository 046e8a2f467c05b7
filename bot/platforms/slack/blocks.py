"""Answers as Slack messages: Block Kit blocks plus the plain ``text`` used in notifications."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.core.citations import citation_note
from bot.core.types import Answer
from bot.loop.gaps import Gap
from bot.platforms import messages
from bot.platforms.slack.feedback_blocks import ButtonValue, feedback_block
from bot.platforms.slack.mrkdwn import escape, split_for_blocks, to_mrkdwn

# The vote buttons of answers posted before Slack's own feedback buttons; still handled.
ACTION_HELPFUL = "supportbot_helpful"
ACTION_NOT_HELPFUL = "supportbot_not_helpful"
ACTION_ASK_HUMAN = "supportbot_ask_human"
ACTION_CONTACT_OK = "supportbot_contact_ok"
ACTION_ANSWER_GAP = "supportbot_answer_gap"
# The message shortcut (in the "More actions" menu of any message) admins use on an answer.
SHORTCUT_IMPROVE = "supportbot_improve_answer"
VIEW_ADMIN_ANSWER = "supportbot_admin_answer"
FORM_QUESTION, FORM_ANSWER, FORM_SCOPES = "question", "answer", "scopes"
ANSWER_BLOCK_PREFIX = "supportbot_answer_"
GAPS_SHOWN = 10
FEEDBACK_ACTIONS = {ACTION_HELPFUL: 1, ACTION_NOT_HELPFUL: -1}
# Notifications show the start of ``text``; Slack truncates very long texts anyway.
TEXT_FALLBACK_CHARS = 3000

Block = dict[str, Any]


@dataclass(frozen=True)
class SlackMessage:
    text: str
    blocks: list[Block]


def link(url: str, label: str) -> str:
    """A mrkdwn link; ``|`` and ``>`` would end Slack's link syntax early, so encode them."""
    safe_url = quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")
    return f"<{safe_url}|{escape(label).replace('|', '¦')}>"


def answer_message(answer: Answer, *, question_ts: str) -> SlackMessage:
    """The reply to a question: the answer, then what ``answer_end_blocks`` puts under it."""
    body = to_mrkdwn(answer.text)
    blocks: list[Block] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": piece}}
        for piece in split_for_blocks(body)
    ]
    blocks += answer_end_blocks(answer, question_ts=question_ts)
    return SlackMessage(text=body[:TEXT_FALLBACK_CHARS], blocks=blocks)


def answer_end_blocks(answer: Answer, *, question_ts: str) -> list[Block]:
    """What goes under an answer's text, posted or streamed: its numbered sources, Slack's own
    👍/👎 (``feedback_buttons``) and the answer's other buttons."""
    blocks = [sources_block(answer)] if answer.citations else []
    button = ButtonValue(answer.id, question_ts)
    if answer.outcome == "not_covered":
        blocks.append({"type": "context", "elements": [_mrkdwn(messages.CONTACT_CONSENT_PROMPT)]})
    if answer.outcome in ("answered", "not_covered"):
        blocks.append(feedback_block(button))
    if answer.outcome in ("answered", "not_covered", "unavailable"):
        blocks.append(actions_block(answer, button.encode()))
    return blocks


def sources_block(answer: Answer) -> Block:
    """The answer's numbered sources, linked, as one context block."""
    lines = [f"*{messages.SOURCES_HEADING}*"]
    for citation in answer.citations:
        where = " › ".join(p for p in (citation.title, citation.section) if p)
        named = link(citation.url, where) if citation.has_web_link else escape(where)
        note = citation_note(citation)
        lines.append(f"{citation.n}. {named}" + (f" ({escape(note)})" if note else ""))
    return {"type": "context", "elements": [_mrkdwn("\n".join(lines))]}


def answer_id_of(message: dict[str, Any]) -> str | None:
    """The id of the bot answer ``message`` is, from its buttons' block id; None otherwise."""
    for block in message.get("blocks") or []:
        block_id = str(block.get("block_id") or "")
        if block.get("type") == "actions" and block_id.startswith(ANSWER_BLOCK_PREFIX):
            return block_id.removeprefix(ANSWER_BLOCK_PREFIX)
    return None


def consent_blocks(value: str) -> list[Block]:
    """The question whether admins may see who asked, with its button."""
    return [
        {"type": "section", "text": _mrkdwn(messages.CONTACT_CONSENT_PROMPT)},
        {
            "type": "actions",
            "elements": [_button(messages.BUTTON_CONTACT_OK, ACTION_CONTACT_OK, value)],
        },
    ]


def gap_list_blocks(gaps: Sequence[Gap], total: int) -> list[Block]:
    """``/kb gaps``: the most asked open gaps, each with its "Answer" button."""
    if not gaps:
        return [{"type": "section", "text": _mrkdwn(to_mrkdwn(messages.no_gaps()))}]
    blocks: list[Block] = [
        {"type": "section", "text": _mrkdwn(to_mrkdwn(messages.gaps_heading(len(gaps), total)))}
    ]
    for gap in gaps:
        summary = to_mrkdwn(messages.gap_summary(gap))
        if gap.contacts:  # Slack mentions, which the Markdown conversion would escape
            summary += "\n" + messages.gap_contacts(gap.contacts)
        blocks.append({"type": "divider"})
        blocks.append(
            {
                "type": "section",
                "text": _mrkdwn(split_for_blocks(summary)[0]),
                "accessory": _button(messages.BUTTON_ANSWER_GAP, ACTION_ANSWER_GAP, str(gap.id)),
            }
        )
    return blocks


@dataclass(frozen=True)
class AnswerForm:
    """What the admin's answer modal is about: a gap, or a bot answer to improve."""

    title: str
    question: str
    answer: str
    scopes: str
    gap_id: int | None = None
    answer_id: str | None = None


def answer_form_view(form: AnswerForm) -> dict[str, Any]:
    """The modal in which an admin writes the answer to a gap or improves a bot answer."""
    metadata = json.dumps({"gap": form.gap_id, "answer": form.answer_id})
    return {
        "type": "modal",
        "callback_id": VIEW_ADMIN_ANSWER,
        "private_metadata": metadata,
        "title": _plain(form.title[:24]),
        "submit": _plain(messages.BUTTON_SAVE_ANSWER[:24]),
        "close": _plain("Cancel"),
        "blocks": [
            _input(FORM_QUESTION, messages.FIELD_QUESTION, form.question, max_length=2000),
            _input(
                FORM_ANSWER,
                messages.FIELD_ANSWER,
                form.answer,
                multiline=True,
                hint=messages.FIELD_ANSWER_HINT,
                max_length=3000,
            ),
            _input(
                FORM_SCOPES,
                messages.FIELD_SCOPES,
                form.scopes,
                hint=messages.FIELD_SCOPES_HINT,
                max_length=200,
            ),
        ],
    }


def form_values(view: dict[str, Any]) -> dict[str, str]:
    """The text an admin typed in each field of the answer modal."""
    values = (view.get("state") or {}).get("values") or {}
    return {
        block_id: str((fields.get(block_id) or {}).get("value") or "")
        for block_id, fields in values.items()
    }


def form_subject(view: dict[str, Any]) -> tuple[int | None, str | None]:
    """The gap id or answer id the modal was opened for."""
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return None, None
    gap, answer = metadata.get("gap"), metadata.get("answer")
    return (gap if isinstance(gap, int) else None), (answer if isinstance(answer, str) else None)


def _input(
    block_id: str,
    label: str,
    initial: str,
    *,
    multiline: bool = False,
    hint: str = "",
    max_length: int,
) -> Block:
    element: Block = {
        "type": "plain_text_input",
        "action_id": block_id,
        "multiline": multiline,
        "max_length": max_length,
    }
    if initial:
        element["initial_value"] = initial[:max_length]
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": _plain(label),
        "element": element,
    }
    if hint:
        block["hint"] = _plain(hint.replace("`", ""))
    return block


def _plain(text: str) -> Block:
    return {"type": "plain_text", "text": text, "emoji": True}


def actions_block(answer: Answer, value: str) -> Block:
    """The answer's buttons other than the votes (``feedback_block`` has those)."""
    buttons = [_button(messages.BUTTON_ASK_HUMAN, ACTION_ASK_HUMAN, value)]
    if answer.outcome == "not_covered":
        buttons.append(_button(messages.BUTTON_CONTACT_OK, ACTION_CONTACT_OK, value))
    return {"type": "actions", "block_id": ANSWER_BLOCK_PREFIX + answer.id, "elements": buttons}


def _button(label: str, action_id: str, value: str) -> Block:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "action_id": action_id,
        "value": value,
    }


def _mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text}


def expert_mentions(ids: tuple[str, ...]) -> str:
    """``<@U…>`` for people and ``<!subteam^S…>`` for user groups."""
    return " ".join(f"<!subteam^{i}>" if i.startswith("S") else f"<@{i}>" for i in ids)
