"""Whether a message continues its thread or starts a new topic, and what the thread is about.

A message is a follow-up when it cannot be understood alone: it opens like a continuation
("and for contractors?", "what about Lisbon?"), points back at something said before ("does
that include…", "is it paid?"), or is a fragment too short to be a question of its own that
shares a word with the thread's last question or has no content words at all ("why?"). Anything
else is a new question and is answered exactly as if it had been asked alone, whatever came
before it in the conversation.
"""

from __future__ import annotations

from bot.core.types import Question
from knowledge.terms import STOPWORDS, WORD

# First words that carry the previous question along (English, and the word for "and" in the
# languages employees most often mix in: Portuguese/Italian "e", Spanish "y", French "et",
# German "und").
_CONTINUING_OPENERS = frozenset(
    "and or but also plus so then e y et und".split()
)  # fmt: skip
_CONTINUING_PHRASES = ("what about", "how about", "what if", "same for", "same with")
_INTERJECTIONS = frozenset("ok okay thanks thank cool great right hmm oh ah".split())
# Words that point back at something named earlier. They do only when the message has not
# named things of its own before them ("how much paternity leave do I get and is it paid?" and
# "I inherited £40k and have savings of about the same" are about their own subjects), and "it",
# "that" and "this" have uses that point nowhere ("is it possible…", "this year").
_REFERRING = frozenset("it its that this they them those these such same else too either".split())
_OWN_ANTECEDENT = 3  # words before a referring word that give it something to refer to
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
# Besides the stop words: words that come with a question but name nothing it is about.
_FUNCTION_WORDS = STOPWORDS | frozenset("too also please ok okay really many much".split())


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def subject_terms(text: str) -> list[str]:
    """The words of ``text`` that say what it is about, in order, without repeats."""
    seen: dict[str, None] = {}
    for word in words(text):
        if _names_something(word):
            seen.setdefault(word, None)
    return list(seen)


def continues_thread(message: str, previous: str) -> bool:
    """Whether ``message`` leans on ``previous`` (the thread's last question) to be understood."""
    said = words(message)
    if not said or not previous.strip():
        return False
    while len(said) > 1 and said[0] in _INTERJECTIONS:  # "ok, and does anyone…"
        said = said[1:]
    opening = " ".join(said[:2])
    if said[0] in _CONTINUING_OPENERS or opening.startswith(_CONTINUING_PHRASES):
        return True
    if _points_back(message):
        return True
    if len(said) <= _SHORT:
        own = set(subject_terms(message))
        return not own or said[0] in _FRAGMENT_OPENERS or bool(own & set(subject_terms(previous)))
    return False


def _points_back(message: str) -> bool:
    """Whether a word in ``message`` can only refer to something said before the message."""
    tokens = WORD.findall(message)
    named = 0
    for i, token in enumerate(tokens):
        word = token.lower()
        after = tokens[i + 1].lower() if i + 1 < len(tokens) else ""
        referring = word in _REFERRING or (word == "as" and after == "well")
        if referring and named < _OWN_ANTECEDENT and token != "IT":  # IT: the team
            if word in ("it", "its") and after in _IMPERSONAL_IT:
                continue
            if word in ("that", "this") and after in _TIME_WORDS:
                continue
            return True
        if _names_something(word):
            named += 1
    return False


def _names_something(word: str) -> bool:
    return word not in _FUNCTION_WORDS and len(word) > 1 and not word.isdigit()


def last_question(question: Question) -> str:
    """The thread's most recent question before this message ("" when there is none)."""
    return next((t.text for t in reversed(question.history) if t.role == "user"), "")
