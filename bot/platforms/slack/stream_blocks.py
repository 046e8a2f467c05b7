"""What ends a streamed Slack answer (``chat.stopStream``'s blocks): the sources, Slack's
native 👍/👎 ``feedback_buttons``, and the answer's other buttons.

A feedback button's value is the vote and the answer's ``ButtonValue``, so a press is stored
like a press of the older vote buttons.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.types import Answer
from bot.platforms import messages
from bot.platforms.slack.blocks import Block, ButtonValue, actions_block, sources_block

ACTION_FEEDBACK = "supportbot_feedback"


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


def stream_end_blocks(answer: Answer, *, question_ts: str) -> list[Block]:
    """The blocks under a streamed answer's text."""
    button = ButtonValue(answer.id, question_ts)
    blocks: list[Block] = [sources_block(answer)] if answer.citations else []
    blocks.append(feedback_block(answer.id, button))
    blocks.append(actions_block(answer, button.encode(), votes=False))
    return blocks


def feedback_block(answer_id: str, button: ButtonValue) -> Block:
    return {
        "type": "context_actions",
        "block_id": f"supportbot_feedback_{answer_id}",
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": ACTION_FEEDBACK,
                "positive_button": _button("👍", messages.FEEDBACK_GOOD_LABEL, +1, button),
                "negative_button": _button("👎", messages.FEEDBACK_BAD_LABEL, -1, button),
            }
        ],
    }


def _button(text: str, label: str, vote: int, button: ButtonValue) -> Block:
    return {
        "text": {"type": "plain_text", "text": text},
        "accessibility_label": label,
        "value": FeedbackValue(vote, button).encode(),
    }
