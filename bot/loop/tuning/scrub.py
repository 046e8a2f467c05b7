"""Taking personal details out of questions before they become training data.

``Scrubber.scrub`` replaces, in this order:

- chat mentions: Slack's ``<@U123>`` / ``<@U123|alice>`` and Teams' ``<at>Alice Smith</at>``
  become ``[name]``; Slack's ``<mailto:…>`` and ``<tel:…>`` links ``[email]`` and ``[phone]``;
- e-mail addresses become ``[email]``, then ``@handles`` become ``[name]``;
- phone numbers (7 to 15 digits, optionally after ``+`` or ``00``, grouped by spaces, dots,
  dashes or brackets; dates such as 2024-05-01 or 01/05/2024 are left alone) become ``[phone]``;
- personal names, by a heuristic: a capitalised word in any alphabet (``Alice``, ``Zoë``,
  ``Łukasz``, ``O'Brien``, ``Jean-Luc``) or a word in capitals with a vowel (``JOHN SMITH``;
  ``HR`` and ``VPN`` are taken for acronyms) that is not on a stoplist of function words,
  greetings, days and months, and that the knowledge base does not use. In mid-sentence the
  knowledge base must use a capitalised word capitalised (a capital there marks a proper noun);
  at the start of a sentence, and for words in capitals, any use counts. Neighbouring names
  become one ``[name]``.

Limits, deliberately erring towards removing too much: a capitalised word the documents never
use (a city, a client, a product) becomes ``[name]`` too. It cannot find a name written in
lower case ("ask priya"), a name that is also a word the documents use (``Bill``, ``Grace``, or
a person named in a policy), nor a phone number written in words or with fewer than seven
digits; other identifiers (employee numbers, street addresses, health details) are not looked
for at all. A number of seven or more digits in groups ("1 000 000") is taken for a phone
number. Read an export before uploading it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

NAME = "[name]"
EMAIL = "[email]"
PHONE = "[phone]"

_SLACK_USER = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
_SLACK_MAILTO = re.compile(r"<mailto:[^>]*>", re.IGNORECASE)
_SLACK_TEL = re.compile(r"<tel:[^>]*>", re.IGNORECASE)
_TEAMS_MENTION = re.compile(r"<at\b[^>]*>.*?</at>", re.IGNORECASE | re.DOTALL)
_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+")
_HANDLE = re.compile(r"(?<![\w.@])@[A-Za-z][\w.-]*\w")
# Digit groups with at most one space, dot or dash between them: "0958. 1" is two sentences.
_DIGITS = r"(?:\(\d{1,5}\)|\d{1,5})"  # a group, maybe in brackets: (020) 7946 0958
_PHONE = re.compile(rf"(?<![\w+])(?:\+|00)?{_DIGITS}(?:[ .-]?{_DIGITS}){{1,7}}(?!\w)")
_DATE = re.compile(r"\d{4}[./-]\d{1,2}[./-]\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")
# A word of letters in any alphabet, maybe with an "O'"-style prefix and hyphenated parts;
# whether it looks like a name is decided in ``_name`` (``re`` has no Unicode case classes).
_LETTERS = r"[^\W\d_]"
_WORD = re.compile(rf"(?<![\w'’\[-])(?:{_LETTERS}['’](?={_LETTERS}))?{_LETTERS}+(?:-{_LETTERS}+)*")
_WORD_PART = re.compile(rf"{_LETTERS}+")
# Vowels, once accents are taken off: a word in capitals without one is an acronym (HR, VPN).
_VOWELS = frozenset("AEIOUY")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\n])[\s\"'“‘(*_]*$")
_NAME_RUN = re.compile(re.escape(NAME) + r"(?:\s+" + re.escape(NAME) + r")+")

MIN_PHONE_DIGITS, MAX_PHONE_DIGITS = 7, 15

# Capitalised words that are no names whatever the documents say.
STOPLIST = frozenset(
    (
        "i me my mine we us our you your he him his she her they them their it its this that "
        "these those a an the and or but nor so yet if then than because while although though "
        "what which who whom whose when where why how whether can could should would will shall "
        "may might must do does did done is are was were be been being am have has had having "
        "not no yes ok okay please thanks thank hi hello hey dear morning afternoon evening "
        "is there here all any some every each both either neither another other such about "
        "after before during since until for from with without within into onto of on in at "
        "by to up down over under again also just only still even very really quick question "
        "many much more most few less lot lots enough "
        "monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday "
        "january february march april may june july august september october november december "
        "mr mrs ms miss dr prof sir madam team everyone anyone someone nobody "
        # Verbs and openers that start questions and requests.
        "ask asked call called mail email e-mail tell told send sent book booked need needed "
        "want wanted help let give get got find check explain show say said know think look "
        "request apply submit claim cancel change update add remove make take bring pay use "
        "also so well sorry sure just actually currently recently last next new one two "
        "first second regarding re fyi urgent follow following"
    ).split()
)


@dataclass(frozen=True)
class Scrubber:
    """Replaces e-mail addresses, phone numbers and people's names with placeholders.

    ``known`` are the words the knowledge base uses, as it spells them: a capitalised word
    found there is taken for a term of the documents, not a person.
    """

    known: frozenset[str]
    known_lower: frozenset[str]

    @classmethod
    def from_words(cls, words: Iterable[str]) -> Scrubber:
        known = frozenset(words)
        return cls(known, frozenset(w.lower() for w in known))

    def scrub(self, text: str) -> str:
        """``text`` with personal details replaced by ``[email]``, ``[phone]`` and ``[name]``."""
        text = _SLACK_USER.sub(NAME, text)
        text = _TEAMS_MENTION.sub(NAME, text)
        text = _SLACK_MAILTO.sub(EMAIL, text)
        text = _SLACK_TEL.sub(PHONE, text)
        text = _EMAIL.sub(EMAIL, text)
        text = _HANDLE.sub(NAME, text)
        text = _PHONE.sub(_phone, text)
        text = _WORD.sub(self._name, text)
        return _NAME_RUN.sub(NAME, text)

    def _name(self, match: re.Match[str]) -> str:
        word = match.group(0)
        parts = _WORD_PART.findall(word)
        shouted = _in_capitals(word)
        if not (shouted or _capitalised(word)) or any(p.lower() in STOPLIST for p in parts):
            return word
        at_start = _SENTENCE_START.search(match.string, 0, match.start()) is not None
        if at_start or shouted:
            known = all(p.lower() in self.known_lower for p in parts)
        else:
            known = all(p in self.known for p in parts)
        return word if known else NAME


def _capitalised(word: str) -> bool:
    """``Alice``, ``Zoë``, ``Łukasz``, ``McDonald``: a capital, then some lower case."""
    return word[0].isupper() and any(c.islower() for c in word)


def _in_capitals(word: str) -> bool:
    """``JOHN``, ``ZOË``: two or more letters, all capitals, with a vowel (not ``HR``)."""
    letters = [c for c in word if c.isalpha()]
    return (
        len(letters) >= 2
        and all(c.isupper() for c in letters)
        and any(_base_letter(c) in _VOWELS for c in letters)
    )


def _base_letter(char: str) -> str:
    """``É`` → ``E``: the letter without its accents."""
    return unicodedata.normalize("NFD", char)[0]


def _phone(match: re.Match[str]) -> str:
    number = match.group(0)
    digits = sum(c.isdigit() for c in number)
    if not MIN_PHONE_DIGITS <= digits <= MAX_PHONE_DIGITS or _DATE.fullmatch(number.strip()):
        return number
    return PHONE


def words_of(text: str) -> set[str]:
    """The words of ``text`` as written (letters only), for ``Scrubber.from_words``."""
    return set(_WORD_PART.findall(text))
