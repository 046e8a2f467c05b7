"""Slack's native 👍/👎 under every answer: a ``feedback_buttons`` element, which Slack only
takes inside a ``context_actions`` block.

What the answer's buttons carry (``ButtonValue``) is in every button's value, and a feedback
button's value adds the vote, so a press is stored like a press of the older vote buttons
(still handled, for answers posted before these).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.platforms import messages

ACTION_FEEDBACK = "supportbot_feedback"
FEEDBACK_BLOCK_PREFIX = "supportbot_feedback_"


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


@dataclass(frozen=True)
class FeedbackValue:
    """A pressed feedback button: the vote and what the answer's buttons carry."""

    vote: int
    button: ButtonValue

    def encode(self) -> str:
        return f"{self.vote:+d} {self.button.encode()}"

    @classmethod
    def decode(cls, value: str) -> FeedbackValue | None:
        vote, _, rest = value.partition(" ")
        if vote not in ("+1", "-1") or not rest:
            return None
        return cls(int(vote), ButtonValue.decode(rest))


def feedback_block(button: ButtonValue) -> dict[str, Any]:
    """The ``context_actions`` block with the answer's 👍/👎."""
    return {
        "type": "context_actions",
        "block_id": FEEDBACK_BLOCK_PREFIX + button.answer_id,
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": ACTION_FEEDBACK,
                "positive_button": _button("👍", messages.FEEDBACK_GOOD_LABEL, +1, button),
                "negative_button": _button("👎", messages.FEEDBACK_BAD_LABEL, -1, button),
            }
        ],
    }


def _button(text: str, label: str, vote: int, button: ButtonValue) -> dict[str, Any]:
    return {
        "text": {"type": "plain_text", "text": text},
        "accessibility_label": label,
        "value": FeedbackValue(vote, button).encode(),
    }
