"""Whether a message continues its thread or starts a new topic, and what the thread is about.

A message is a follow-up when it cannot be understood alone: it opens like a continuation
("and for contractors?", "what about Lisbon?"), points back at something said before ("does
that include…", "is it paid?"), or is a fragment too short to be a question of its own that
shares a word with the thread's last question or has no content words at all ("why?"). Anything
else is a new question and is answered exactly as if it had been asked alone, whatever came
before it in the conversation.
"""

from __future__ import annotations

import re

from bot.core.types import Question

_WORD = re.compile(r"\w+")

# First words that carry the previous question along (English, and the word for "and" in the
# languages employees most often mix in: Portuguese/Italian "e", Spanish "y", French "et",
# German "und").
_CONTINUING_OPENERS = frozenset(
    "and or but also plus so then e y et und".split()
)  # fmt: skip
_CONTINUING_PHRASES = ("what about", "how about", "what if", "same for", "same with")
# Words that point back at something named earlier in the conversation. "it", "that" and
# "this" also have uses that point nowhere ("is it possible…", "the form that…", "this year"),
# so those count only where they usually refer.
_REFERRING = frozenset("they them those these such same else too either".split())
_IMPERSONAL_IT = frozenset(
    "possible ok okay true allowed necessary mandatory required fine worth better normal "
    "legal permitted enough".split()
)  # fmt: skip
_TIME_WORDS = frozenset("year month week quarter morning afternoon evening time".split())
# A fragment starting with a preposition ("for part-timers?", "in Lisbon?") leans on the
# question before it.
_FRAGMENT_OPENERS = frozenset(
    "for in at with without during after before if when while from on by".split()
)  # fmt: skip
_SHORT = 3  # words: a message this short is a fragment unless it is self-contained
_FUNCTION_WORDS = frozenset(
    (
        "a an the and or but if of to in on at by for with from as is are was were be been do "
        "does did i me my we our you your it its this that these those what which who whom how "
        "when where why can could should would will may might must shall have has had not no so "
        "than then there their they them he she his her get got any all about into up out over "
        "too also please ok okay really many much"
    ).split()
)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def subject_terms(text: str) -> list[str]:
    """The words of ``text`` that say what it is about, in order, without repeats."""
    seen: dict[str, None] = {}
    for word in words(text):
        if word not in _FUNCTION_WORDS and len(word) > 1 and not word.isdigit():
            seen.setdefault(word, None)
    return list(seen)


def continues_thread(message: str, previous: str) -> bool:
    """Whether ``message`` leans on ``previous`` (the thread's last question) to be understood."""
    said = words(message)
    if not said or not previous.strip():
        return False
    opening = " ".join(said[:2])
    if said[0] in _CONTINUING_OPENERS or opening.startswith(_CONTINUING_PHRASES):
        return True
    if _REFERRING.intersection(said) or _points_back(said):
        return True
    if len(said) <= _SHORT:
        own = set(subject_terms(message))
        return not own or said[0] in _FRAGMENT_OPENERS or bool(own & set(subject_terms(previous)))
    return False


def _points_back(said: list[str]) -> bool:
    for i, word in enumerate(said):
        after = said[i + 1] if i + 1 < len(said) else ""
        if word in ("it", "its") and after not in _IMPERSONAL_IT:
            return True
        if word in ("that", "this") and i < 3 and after not in _TIME_WORDS:
            return True
    return False


def last_question(question: Question) -> str:
    """The thread's most recent question before this message ("" when there is none)."""
    return next((t.text for t in reversed(question.history) if t.role == "user"), "")
