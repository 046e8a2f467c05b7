"""What of a draft being written may be shown yet.

A model's draft is checked whole once it is written (``resolve_citations``); while it is being
written, this gate passes on only text that the check would keep as it is:

- a ``[n]`` marker once it is complete, renumbered as the check renumbers it, or not at all
  when it points at no source (so an invalid marker never flashes on screen);
- spaces as the check tidies them: none at the start or end, none before punctuation, one
  where a dropped marker or the model left several;
- nothing once the draft is, or may still become, the model's "not covered" decline;
- a link only once it is known to point at a source's host (``link_guard``): an unfinished
  one is held back, one to anywhere else is shown without its target.

What the gate has shown is then exactly the start of the checked answer, except where the
answer is changed afterwards as a whole (a decline, an answer without a valid citation, an
off-source link taken out): the adapters replace what they showed with the final answer then.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from bot.core.citations import cited_numbers
from bot.core.link_guard import LinkGuard
from bot.core.writers import NOT_COVERED

_MARKER = re.compile(r"\[\d+(?:\s*[,;–-]\s*\d+)*\]")
_MARKER_CHARS = frozenset("0123456789 ,;–-")
# A "[" followed by this much without closing is prose, not a marker.
_MARKER_MAX_CHARS = 40
_SPACES = " \t"
_PUNCTUATION = ".,;:!?"


class StreamGate:
    """Feed it a draft's deltas; it returns the text that may be shown, in order. ``sources``
    is how many sources the writer was given, ``hosts`` their web hosts."""

    def __init__(self, sources: int, hosts: Collection[str] = ()) -> None:
        self._sources = sources
        self._links = LinkGuard(hosts)
        self._order: dict[int, int] = {}
        self._draft = ""
        self._marker = ""  # an open "[..." not yet complete
        self._spaces = ""  # spaces held until what follows them is known
        self._started = False
        self._declined = False
        self.shown = ""

    def feed(self, delta: str) -> str:
        """The text ``delta`` lets through now (possibly none)."""
        self._draft += delta
        if self._declined or NOT_COVERED in self._draft:
            self._declined = True
            return ""
        if not self._started and NOT_COVERED.startswith(self._draft.strip()[: len(NOT_COVERED)]):
            return ""  # it may still become the decline: show nothing yet
        if not self._started:
            self._started = True
            delta = self._draft
        before = len(self.shown)
        for c in delta:
            self._char(c)
        return self._links.feed(self.shown[before:])

    def finish(self) -> str:
        """What was held back to the end of the draft and may be shown now."""
        return "" if self._declined else self._links.finish()

    def _char(self, c: str) -> None:
        if self._marker:
            self._marker += c
            if c == "]":
                marker, self._marker = self._marker, ""
                self._text(self._renumber(marker) if _MARKER.fullmatch(marker) else marker)
            elif c not in _MARKER_CHARS or len(self._marker) >= _MARKER_MAX_CHARS:
                prose, self._marker = self._marker, ""
                self._text(prose)
        elif c == "[":
            self._marker = c
        else:
            self._text(c)

    def _text(self, text: str) -> None:
        for c in text:
            if c in _SPACES:
                self._spaces += c
                continue
            if not self.shown and c.isspace():
                continue  # the answer is shown stripped
            if self._spaces and self.shown and c not in _PUNCTUATION:
                self.shown += self._spaces if len(self._spaces) == 1 else " "
            self._spaces = ""
            self.shown += c

    def _renumber(self, marker: str) -> str:
        kept: list[int] = []
        for number in cited_numbers(marker):
            if 1 <= number <= self._sources:
                new = self._order.setdefault(number, len(self._order) + 1)
                if new not in kept:
                    kept.append(new)
        return "".join(f"[{n}]" for n in kept)
