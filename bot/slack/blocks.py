"""Answers as Slack messages: Block Kit blocks plus the plain ``text`` used in notifications."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot import messages
from bot.slack.mrkdwn import escape, split_for_blocks, to_mrkdwn
from bot.types import Answer

ACTION_HELPFUL = "supportbot_helpful"
ACTION_NOT_HELPFUL = "supportbot_not_helpful"
ACTION_ASK_HUMAN = "supportbot_ask_human"
FEEDBACK_ACTIONS = {ACTION_HELPFUL: 1, ACTION_NOT_HELPFUL: -1}
# Notifications show the start of ``text``; Slack truncates very long texts anyway.
TEXT_FALLBACK_CHARS = 3000

Block = dict[str, Any]


@dataclass(frozen=True)
class SlackMessage:
    text: str
    blocks: list[Block]


@dataclass(frozen=True)
class ButtonValue:
    """What the answer's buttons carry: the answer's id and the question message's ts."""

    answer_id: str
    question_ts: str

    def encode(self) -> str:
        return f"{self.answer_id} {self.question_ts}"

    @classmethod
    def decode(cls, value: str) -> ButtonValue:
        answer_id, _, question_ts = value.partition(" ")
        return cls(answer_id, question_ts)


def link(url: str, label: str) -> str:
    """A mrkdwn link; ``|`` and ``>`` would end Slack's link syntax early, so encode them."""
    safe_url = quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")
    return f"<{safe_url}|{escape(label).replace('|', '¦')}>"


def answer_message(answer: Answer, *, question_ts: str) -> SlackMessage:
    """The reply to a question: the answer, its numbered sources and the action buttons."""
    body = to_mrkdwn(answer.text)
    blocks: list[Block] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": piece}}
        for piece in split_for_blocks(body)
    ]
    if answer.citations:
        lines = [f"*{messages.SOURCES_HEADING}*"]
        for citation in answer.citations:
            where = " › ".join(p for p in (citation.title, citation.section) if p)
            lines.append(f"{citation.n}. {link(citation.url, where)}")
        blocks.append({"type": "context", "elements": [_mrkdwn("\n".join(lines))]})
    if answer.outcome in ("answered", "not_covered", "unavailable"):
        blocks.append(_actions(answer, ButtonValue(answer.id, question_ts).encode()))
    return SlackMessage(text=body[:TEXT_FALLBACK_CHARS], blocks=blocks)


def _actions(answer: Answer, value: str) -> Block:
    buttons = []
    if answer.outcome != "unavailable":
        buttons += [
            _button(messages.BUTTON_HELPFUL, ACTION_HELPFUL, value),
            _button(messages.BUTTON_NOT_HELPFUL, ACTION_NOT_HELPFUL, value),
        ]
    buttons.append(_button(messages.BUTTON_ASK_HUMAN, ACTION_ASK_HUMAN, value))
    return {"type": "actions", "block_id": f"supportbot_answer_{answer.id}", "elements": buttons}


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
