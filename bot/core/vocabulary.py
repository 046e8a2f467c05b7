"""The words the core's text matching skips: articles, pronouns, auxiliaries and the like."""

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
