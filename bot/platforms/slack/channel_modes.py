"""Which top-level channel messages the bot answers without a mention (``respond:
questions`` in the access file), by a deliberately simple test of what reads as a question."""

from __future__ import annotations

import re

from bot.platforms.access import PlatformAccess

# English openings of a question; a message starting with one is a question even without "?".
QUESTION_WORDS = frozenset(
    "who what when where why which whose whom how "
    "is are was were do does did can could will would should "
    "isn't aren't doesn't don't can't won't".split()
)
_FIRST_WORD = re.compile(r"[\w']+")
_MARKUP = re.compile(r"<[^>]*>")


def is_question(text: str) -> bool:
    """True when ``text`` ends with "?" or starts with a question word ("How do I…",
    "Is there…", "What's…"), case-insensitively; mentions and links are ignored."""
    plain = _MARKUP.sub(" ", text).strip()
    if not plain:
        return False
    if plain.endswith("?"):
        return True
    first = _FIRST_WORD.match(plain.lower().replace("’", "'"))
    if first is None:
        return False
    # "what's", "who'd": the word before the apostrophe; "can't" and the like are listed.
    word = first.group()
    return word in QUESTION_WORDS or word.split("'")[0] in QUESTION_WORDS


def answers_unmentioned(access: PlatformAccess, channel: str, text: str) -> bool:
    """Whether a top-level message in ``channel`` that does not mention the bot is answered."""
    return access.behaviour(channel).respond == "questions" and is_question(text)
