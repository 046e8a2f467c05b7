"""Section anchors as site generators make them from headings.

GitHub (and Docusaurus, Hugo's default, VS Code's preview) use github-slugger's rules; MkDocs
uses Python-Markdown's ``toc`` extension. They differ on accents, punctuation runs and repeats:
``Café & Bar -- Rules`` is ``#café--bar----rules`` on GitHub and ``#cafe-bar-rules`` in MkDocs,
and a second ``Notes`` heading is ``#notes-1`` on GitHub but ``#notes_1`` in MkDocs.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Protocol

SLUGGERS = ("github", "mkdocs")
_MKDOCS_DROPPED = re.compile(r"[^\w\s-]")
_MKDOCS_SEPARATORS = re.compile(r"[-\s]+")
_MKDOCS_COUNTED = re.compile(r"^(.*)_([0-9]+)$")


class Slugger(Protocol):
    """Turns the headings of one page, in order, into unique anchors (without the ``#``)."""

    def slug(self, heading: str) -> str: ...


class GitHubSlugger:
    """github-slugger: lower case; letters, marks, decimal and letter numbers, ``_``, ``-`` and
    spaces kept (each space becoming ``-``), everything else dropped; a repeat gets ``-1``,
    ``-2``, ... (skipping any suffix a heading already took)."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def slug(self, heading: str) -> str:
        base = "".join(c for c in heading.lower() if _github_keeps(c)).replace(" ", "-")
        result = base
        while result in self._seen:
            self._seen[base] += 1
            result = f"{base}-{self._seen[base]}"
        self._seen[result] = 0
        return result


class MkDocsSlugger:
    """Python-Markdown's ``toc.slugify`` and ``unique`` (MkDocs' defaults): accents folded to
    ASCII and other non-ASCII dropped, punctuation but ``_`` and ``-`` dropped, lower case,
    runs of spaces and hyphens made one ``-``; a repeat (or an empty slug) gets ``_1``, ``_2``."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def slug(self, heading: str) -> str:
        value = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode("ascii")
        value = _MKDOCS_DROPPED.sub("", value).strip().lower()
        value = _MKDOCS_SEPARATORS.sub("-", value)
        while value in self._taken or not value:
            counted = _MKDOCS_COUNTED.match(value)
            value = f"{counted[1]}_{int(counted[2]) + 1}" if counted else f"{value}_1"
        self._taken.add(value)
        return value


def slugger_for(name: str) -> Slugger:
    """A fresh slugger (one per page) for the rules called ``name``: ``github`` or ``mkdocs``."""
    return MkDocsSlugger() if name == "mkdocs" else GitHubSlugger()


def _github_keeps(character: str) -> bool:
    if character in "- ":
        return True
    category = unicodedata.category(character)
    return category[0] in "LM" or category in ("Nd", "Nl", "Pc")
