"""What of a streamed draft's links may be shown yet.

The checked answer keeps only links to its sources' hosts (``links.restrict_links``), but a
draft is shown while it is written, before any check. So a link is held back from the moment
it may have begun (``[``, ``![``, ``<``, or a bare ``http://``, ``https://`` or ``www.``)
until it is complete: shown as written when it points at the host of a source the writer was
given, else without its target (a link's label, nothing of an autolink or bare URL). A
construct that turns out not to be a link is shown as the text it is. What is shown then
differs from the checked answer, which replaces it once written (``Final.replaces``).
"""

from __future__ import annotations

import re
from collections.abc import Collection

from bot.core.links import allowed_link

# A "[", "<" or URL held this long without ending is text, not a link: show it (a bare URL
# inside is still caught on its own).
HOLD_MAX_CHARS = 2000
_BARE_STARTS = ("https://", "http://", "www.")
# What ends a bare URL, and what at its end is the sentence's, not the URL's.
_URL_END = re.compile(r"[\s<>\"`]")
_TRAILING = ".,;:!?)'\"*_~"
_AUTOLINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.\-]{1,31}:[^\s<>]*|[^\s<>@]+@[^\s<>@]+)>")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{1,31}:")

_Held = tuple[str, int] | None  # (what to show for the construct, its length); None: not yet


class LinkGuard:
    """Feed it text in order; it returns what may be shown, holding back unfinished links."""

    def __init__(self, hosts: Collection[str]) -> None:
        self._hosts = hosts
        self._pending = ""

    def feed(self, text: str) -> str:
        """What of the text so far may be shown now (possibly nothing)."""
        self._pending += text
        return self._release(ended=False)

    def finish(self) -> str:
        """The rest, once the draft is complete: what is still open is not a link."""
        return self._release(ended=True)

    def _release(self, *, ended: bool) -> str:
        text, shown, position = self._pending, [], 0
        while position < len(text):
            start = _next_start(text, position)
            shown.append(text[position:start])
            if start >= len(text):
                position = start
                break
            resolved = self._resolve(text, start, ended=ended)
            if resolved is None:  # not known yet: hold from here
                position = start
                break
            replacement, length = resolved
            if length == 0:  # not a link: its first character is text
                shown.append(text[start])
                position = start + 1
            elif replacement == text[start : start + length]:  # to a source: as written
                shown.append(replacement)
                position = start + length
            else:
                # Refused: its label (if any) takes its place and is read again, as it may
                # hold a link of its own.
                text = text[:start] + replacement + text[start + length :]
                position = start
        self._pending = text[position:]
        return "".join(shown)

    def _resolve(self, text: str, start: int, *, ended: bool) -> _Held:
        rest = text[start:]
        if rest[0] in "![":
            return self._inline(text, start, ended=ended)
        if rest[0] == "<":
            return self._autolink(rest, ended=ended)
        return self._bare(rest, ended=ended)

    def _inline(self, text: str, start: int, *, ended: bool) -> _Held:
        """``[label](target)`` or ``![alt](target)``: as written, or its label alone."""
        open_at = start + 1 if text[start] == "!" else start
        if open_at >= len(text):
            return (text[start], 0) if ended else None
        if text[open_at] != "[":
            return text[start], 0
        close = _closing(text, open_at, "[", "]")
        if close < 0 or close + 1 >= len(text):
            return _undecided(text, start, ended)
        if text[close + 1] != "(":
            return text[start], 0
        end = _closing(text, close + 1, "(", ")")
        if end < 0:
            return _undecided(text, start, ended)
        target = text[close + 2 : end].strip()
        target = target[1:].split(">", 1)[0] if target.startswith("<") else target.split(" ")[0]
        if allowed_link(target, self._hosts):
            # Shown as written, but read on through it: its label may hold a link of its own.
            return text[start], 0
        return text[open_at + 1 : close], end + 1 - start

    def _autolink(self, rest: str, *, ended: bool) -> _Held:
        match = _AUTOLINK.match(rest)
        if match is None:
            unfinished = re.fullmatch(r"<[^\s<>]*", rest) and len(rest) < HOLD_MAX_CHARS
            return None if unfinished and not ended else (rest[0], 0)
        target = match.group(1)
        href = target if _SCHEME.match(target) else f"mailto:{target}"
        return (match.group(0) if allowed_link(href, self._hosts) else ""), match.end()

    def _bare(self, rest: str, *, ended: bool) -> _Held:
        lowered = rest[: len(_BARE_STARTS[0])].lower()
        if not any(lowered.startswith(s) for s in _BARE_STARTS):
            if not ended and any(s.startswith(lowered) for s in _BARE_STARTS):
                return None  # "htt" may still become "https://"
            return rest[0], 0
        end = _URL_END.search(rest)
        if end is None and not ended and len(rest) < HOLD_MAX_CHARS:
            return None
        url = rest[: end.start() if end is not None else len(rest)].rstrip(_TRAILING)
        href = url if "://" in url else f"http://{url}"
        return (url if allowed_link(href, self._hosts) else ""), len(url)


def _next_start(text: str, position: int) -> int:
    """Where the next possible link begins at or after ``position``; ``len(text)`` if none."""
    for index in range(position, len(text)):
        char = text[index]
        if char in "[<" and not _escaped(text, index):
            return index
        if char == "!" and text[index + 1 : index + 2] in ("[", ""):
            return index
        # "www." only starts a word; a scheme is caught anywhere, as chat clients find it.
        if char in "hH" or (char in "wW" and (index == 0 or not text[index - 1].isalnum())):
            head = text[index : index + len(_BARE_STARTS[0])].lower()
            if any(s.startswith(head) or head.startswith(s) for s in _BARE_STARTS):
                return index
    return len(text)


def _closing(text: str, start: int, opener: str, closer: str) -> int:
    """Where the ``opener`` at ``start`` is closed (nesting and backslashes respected), or -1."""
    depth, index = 0, start
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        depth += (char == opener) - (char == closer)
        if depth == 0:
            return index
        index += 1
    return -1


def _undecided(text: str, start: int, ended: bool) -> _Held:
    if ended or len(text) - start >= HOLD_MAX_CHARS:
        return text[start], 0
    return None


def _escaped(text: str, index: int) -> bool:
    backslashes = len(text[:index]) - len(text[:index].rstrip("\\"))
    return backslashes % 2 == 1
