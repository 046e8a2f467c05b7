"""Which language a question is in, as far as the answer flow needs to know.

The bundled embedding model only understands English: a question in Portuguese finds sections
that merely share its numbers or names, and the bot would quote them. So the flow asks
``detect_language`` first and politely declines a question in a language the configured model
cannot search (``SearchLanguages``).

The detector is timid on purpose. It counts the words of Portuguese, Spanish, German, French,
Italian and Dutch that English chat does not use (``bot.core.language_words``), and reads other
scripts; it names another language only when at least two of that language's words, and more of
them than English words, are in the text. Anything short, mixed or unclear ("pto?", "wfh
policy", "ooo next wk") is English: declining an English question costs more than searching a
foreign one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.core import language_words as words

ENGLISH_CODE = "en"
ANY = "any"

# Letters are read in words, with elided articles kept ("l'ordinateur"): links, Slack markup and
# addresses are dropped first, since a URL's path is often in the site's language.
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
_NOT_PROSE = re.compile(r"<[^>]*>|https?://\S+|www\.\S+|\S+@\S+")
_CODE = re.compile(r"^[a-z]{2}$")

# The language a script says most likely, for text mostly in letters other than Latin ones.
_SCRIPTS = {
    "HIRAGANA": "ja",
    "KATAKANA": "ja",
    "HANGUL": "ko",
    "CJK": "zh",
    "CYRILLIC": "ru",
    "GREEK": "el",
    "ARABIC": "ar",
    "HEBREW": "he",
    "THAI": "th",
    "DEVANAGARI": "hi",
}


def _plain(word: str) -> str:
    """``word`` without accents, as the lists are compared ("ferias" is "férias" typed fast)."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _lexicon(text: str) -> frozenset[str]:
    return frozenset(_plain(word) for word in text.split())


_ENGLISH = _lexicon(words.ENGLISH)
_LEXICONS = {
    "pt": _lexicon(words.PORTUGUESE),
    "es": _lexicon(words.SPANISH),
    "de": _lexicon(words.GERMAN),
    "fr": _lexicon(words.FRENCH),
    "it": _lexicon(words.ITALIAN),
    "nl": _lexicon(words.DUTCH),
}
DETECTED_LANGUAGES = tuple(_LEXICONS)


def detect_language(text: str) -> str:
    """The ISO 639-1 code of the language ``text`` is written in; ``"en"`` unless sure."""
    prose = _NOT_PROSE.sub(" ", unicodedata.normalize("NFC", text).replace("’", "'"))
    by_script = _script_language(prose)
    if by_script is not None:
        return by_script
    found = _WORD.findall(prose.lower())
    english = len({_plain(w) for w in found} & _ENGLISH)
    best, best_score = ENGLISH_CODE, 0
    for language in DETECTED_LANGUAGES:
        score = _score(language, [w for w in found if len(w) > 1], prose)
        if score > best_score:
            best, best_score = language, score
    return best if best_score > english else ENGLISH_CODE


def _score(language: str, found: list[str], prose: str) -> int:
    """How many distinct words of ``language`` are in ``found``, plus one for its accents or
    punctuation elsewhere; nothing with fewer than two of its words (an accent, a "de" or a
    "hola" inside an English sentence says nothing)."""
    lexicon = _LEXICONS[language]
    listed: set[str] = set()
    unlisted: list[str] = []
    for word in found:
        for elision in words.ELISIONS.get(language, ()):
            if word.startswith(elision) and len(word) > len(elision) + 1:
                listed.add(elision)
                word = word[len(elision) :]
                break
        plain = _plain(word)
        if plain in lexicon:
            listed.add(plain)
        else:
            unlisted.append(word)
    if len(listed) < 2:
        return 0
    accented = any(c in words.ACCENTS[language] for c in "".join(unlisted))
    punctuated = any(c in prose for c in words.PUNCTUATION.get(language, ""))
    return len(listed) + int(accented or punctuated)


def _script_language(prose: str) -> str | None:
    latin = 0
    others: dict[str, int] = {}
    for char in prose:
        if not char.isalpha():
            continue
        script = unicodedata.name(char, "").split(" ")[0]
        if script == "LATIN":
            latin += 1
        elif script in _SCRIPTS:
            language = _SCRIPTS[script]
            others[language] = others.get(language, 0) + 1
    if sum(others.values()) < 2 or sum(others.values()) <= latin:
        return None
    if "ja" in others:  # Japanese writes kanji (CJK) between its kana
        return "ja"
    return max(others, key=lambda language: others[language])


@dataclass(frozen=True)
class SearchLanguages:
    """The languages the configured embedding model can search: ISO 639-1 ``codes``, in the
    order replies name them, or any language at all when ``codes`` is None."""

    codes: tuple[str, ...] | None = (ENGLISH_CODE,)

    @classmethod
    def parse(cls, value: str) -> SearchLanguages:
        """From ``"en"``, ``"en,de"`` (commas and/or spaces) or ``"any"``; ValueError otherwise."""
        parts = [part.lower() for part in value.replace(",", " ").split()]
        if parts == [ANY]:
            return cls(None)
        bad = [part for part in parts if not _CODE.match(part)]
        if not parts or bad:
            shown = bad[0] if bad else value
            raise ValueError(
                f"{shown!r} is not a two-letter ISO 639-1 language code (en, de, ...) or 'any'"
            )
        return cls(tuple(dict.fromkeys(parts)))

    def allows(self, language: str) -> bool:
        """Whether a question in ``language`` can be searched."""
        return self.codes is None or language in self.codes

    def __str__(self) -> str:
        return ANY if self.codes is None else ",".join(self.codes)


ENGLISH_ONLY = SearchLanguages((ENGLISH_CODE,))
ANY_LANGUAGE = SearchLanguages(None)
