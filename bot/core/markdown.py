"""Markdown the bot writes around text it did not write: a question quoted in a notice, a
display name in an escalation.

Markdown is what the bot's sentences are written in (Slack's adapter converts them to mrkdwn,
Teams shows them as they are), so someone else's text must be put in as *literal* Markdown:
else ``[HR portal](https://evil.example)`` becomes a link the bot seems to vouch for, and
``<at>Bob</at>`` or ``<!channel>`` a mention. Slack's own escaping, for mrkdwn the Slack
adapter writes itself, is ``bot.platforms.slack.mrkdwn.escape``.
"""

from __future__ import annotations

import re

# Link and image brackets, code spans, emphasis, table pipes and backslashes themselves.
_PUNCTUATION = re.compile(r"[\\`*_~\[\]|]")


def literal(text: str) -> str:
    """``text`` as Markdown that shows exactly ``text``: no link, image, mention, HTML tag,
    autolink, entity, code span or emphasis in it takes effect.

    ``<``, ``>`` and ``&`` become entities rather than backslash escapes: an entity is never
    a tag in any renderer, and a ``>`` at a line's start no quote.
    """
    escaped = _PUNCTUATION.sub(r"\\\g<0>", text)
    return escaped.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quoted(text: str) -> str:
    """``text`` as a block quote, line by line (escape it first if it is someone else's)."""
    return "\n".join(f"> {line}" for line in text.splitlines() or [""])
