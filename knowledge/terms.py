"""Words as text matching sees them: the words it skips (articles, pronouns, auxiliaries and the
like) and a question's or passage's meaningful, roughly stemmed terms."""

from __future__ import annotations

import re

WORD = re.compile(r"\w+")
STOPWORDS = frozenset(
    (
        "a an the and or but if of to in on at by for with from as is are was were be been do "
        "does did i me my we our you your it its this that these those what which who whom how "
        "when where why can could should would will may might must shall have has had not no so "
        "than then there their they them he she his her get got any all about into up out over"
    ).split()
)


def content_terms(text: str) -> set[str]:
    """The lower-cased, roughly stemmed words of ``text`` that carry meaning."""
    return {_stem(w) for w in WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1}


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word
