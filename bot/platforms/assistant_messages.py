"""What the bot says in Slack's assistant pane and about privately answered questions."""

from __future__ import annotations

ASSISTANT_GREETING = (
    "Hi! Ask me about our policies and procedures: I answer from the company's documents "
    "and link the sections I used."
)
SUGGESTED_PROMPTS_TITLE = "Try asking"
# The default suggested prompts (SLACK_SUGGESTED_PROMPTS replaces them): generic on purpose,
# since the bot keeps no record of what people asked.
DEFAULT_SUGGESTED_PROMPTS = (
    "How many days of annual leave do I have?",
    "How do I submit an expense claim?",
    "Who do I contact about payroll?",
)
# Slack shows a prompt's title on a button; longer ones are cut here, the question is kept.
PROMPT_TITLE_LIMIT = 75
# Thread titles are cut to this many characters, the first question's start.
THREAD_TITLE_LIMIT = 60

BUTTON_SHARE = "Share with the channel"
SHARED_NOTE = "Shared with the channel."


def share_not_yours() -> str:
    return "Only the person who asked can share this answer."


def share_already_done() -> str:
    return "This answer has already been shared with the channel."


def share_expired() -> str:
    return "This answer can no longer be shared. Ask again to get a fresh one."


def shortened(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
