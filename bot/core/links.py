"""Links in answers go only where the answer's sources are.

An answer is Markdown a model wrote, and Markdown lets any words be a link to anywhere: a
document or question that talks the model into ``[Reset your password](https://evil.example)``
would have the bot vouch for that link. So an answer keeps a link only when it points at the
host of a source the answer cites. Any other link becomes its text followed by its URL in a code
span: both visible, nothing clickable behind a label (a relative link, which leads nowhere from
a chat message, becomes its text alone). Images, autolinks (``<https://…>``,
``<someone@example.com>``) and reference definitions (``[x]: https://…``) are treated the same.

The result is parsed again with the renderers' parser; should unusual syntax leave a stray link
standing, every link and autolink in the answer is broken instead.
"""

from __future__ import annotations

import re
import string
from collections.abc import Collection, Iterable, Sequence
from urllib.parse import urlsplit

from markdown_it.helpers import parseLinkDestination

from bot.core.commonmark import normalise_link, parse_tokens
from bot.core.types import Citation

_WEB_SCHEMES = ("http", "https")
# CommonMark autolinks: a URI with a scheme, or an email address, in angle brackets.
_AUTOLINK = re.compile(
    r"(?<!\\)<([A-Za-z][A-Za-z0-9+.\-]{1,31}:[^\s<>]*"
    r"|[A-Za-z0-9.!#$%&'*+/=?^_`{|}~\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*)>"
)
_TITLE_CLOSERS = {'"': '"', "'": "'", "(": ")"}
_MAX_REWRITES = 500


def restrict_links(markdown: str, citations: Sequence[Citation]) -> str:
    """``markdown`` with every link, image and autolink outside the cited sources' hosts
    turned into visible text."""
    hosts = source_hosts(c.url for c in citations if c.has_web_link)
    if not stray_links(markdown, hosts):
        return markdown
    text = _rewrite_inline_links(markdown, hosts)
    text = _AUTOLINK.sub(lambda m: _autolink(m, hosts), text)
    text = _break_definitions(text, hosts)
    for fallback in ("[<", string.punctuation):
        if not stray_links(text, hosts):
            return text
        # Unusual syntax survived the rewrite: escaping every bracket leaves no link at all.
        text = _escape(text, fallback)
    return text


def source_hosts(urls: Iterable[str]) -> frozenset[str]:
    """The web hosts of ``urls`` (sources' addresses), as links to them are compared."""
    return frozenset(h for url in urls if (h := _host(normalise_link(url))) is not None)


def allowed_link(url: str, hosts: Collection[str | None]) -> bool:
    """Whether a link to ``url``, as written in Markdown, goes to one of ``hosts``."""
    return _allowed(normalise_link(url), hosts)


def stray_links(markdown: str, hosts: Collection[str | None]) -> list[str]:
    """The targets of the links and images in ``markdown`` that are not on ``hosts``."""
    stray: list[str] = []
    for token in parse_tokens(markdown):
        for child in token.children or []:
            attribute = {"link_open": "href", "image": "src"}.get(child.type)
            if attribute is not None:
                target = str(child.attrGet(attribute) or "")
                if not _allowed(target, hosts):
                    stray.append(target)
    return stray


def _host(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in _WEB_SCHEMES or not parts.hostname:
        return None
    return parts.hostname.rstrip(".")


def _allowed(normalised_url: str, hosts: Collection[str | None]) -> bool:
    host = _host(normalised_url)
    return host is not None and host in hosts


def _shown(label: str, url: str) -> str:
    """What a refused link becomes: its label, then its URL as code (not clickable)."""
    parts = urlsplit(url.strip())
    if not url.strip() or (not parts.scheme and not parts.netloc and label.strip()):
        # A relative link (a handbook's "../leave.md") leads nowhere from a chat message.
        return label
    fence = "`" * (max((len(run) for run in re.findall(r"`+", url)), default=0) + 1)
    padding = " " if url.startswith(("`", " ")) or url.endswith(("`", " ")) else ""
    code = f"{fence}{padding}{url}{padding}{fence}"
    return f"{label} ({code})" if label.strip() else code


def _autolink(match: re.Match[str], hosts: Collection[str | None]) -> str:
    target = match.group(1)
    href = target if ":" in target else f"mailto:{target}"
    return match.group(0) if _allowed(normalise_link(href), hosts) else _shown("", target)


# Inline links and images: [label](destination "title"), ![alt](source)


def _rewrite_inline_links(text: str, hosts: Collection[str | None]) -> str:
    position = 0
    for _ in range(_MAX_REWRITES):
        start = _unescaped(text, "[", position)
        if start < 0:
            return text
        link = _inline_link(text, start)
        if link is None or _allowed(normalise_link(link[1]), hosts):
            position = start + 1
            continue
        close, destination, end = link
        image = start > 0 and _unescaped(text, "!", start - 1) == start - 1
        begin = start - 1 if image else start
        text = text[:begin] + _shown(text[start + 1 : close], destination) + text[end:]
        # Each rewrite removes one "[", so this ends; the label may hold another link.
        position = begin
    return text


def _inline_link(text: str, start: int) -> tuple[int, str, int] | None:
    """For ``[label](destination "title")`` at ``start``: where the label closes, the
    destination, and where the link ends."""
    close = _label_end(text, start)
    if close < 0 or not text.startswith("(", close + 1):
        return None
    position = _skip_space(text, close + 2)
    if text.startswith(")", position):
        return close, "", position + 1
    destination = parseLinkDestination(text, position, len(text))
    if not destination.ok:
        return None
    position = _skip_space(text, destination.pos)
    closer = _TITLE_CLOSERS.get(text[position : position + 1])
    if closer is not None and position > destination.pos:
        position = _unescaped(text, closer, position + 1)
        if position < 0:
            return None
        position = _skip_space(text, position + 1)
    if not text.startswith(")", position):
        return None
    return close, destination.str, position + 1


def _label_end(text: str, start: int) -> int:
    depth = 0
    position = start
    while position < len(text):
        char = text[position]
        if char == "\\":
            position += 2
            continue
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return position
        position += 1
    return -1


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\n":
        position += 1
    return position


def _unescaped(text: str, char: str, position: int) -> int:
    """The first ``char`` at or after ``position`` that no backslash escapes, or -1."""
    position = max(position, 0)
    while (found := text.find(char, position)) >= 0:
        backslashes = len(text[:found]) - len(text[:found].rstrip("\\"))
        if backslashes % 2 == 0:
            return found
        position = found + 1
    return -1


# Reference definitions: [label]: destination


def _break_definitions(text: str, hosts: Collection[str | None]) -> str:
    """Escape the bracket that opens each definition of a refused target: the definition then
    shows as text, and ``[label][ref]`` links to it as their own words."""
    env: dict[str, dict[str, dict[str, object]]] = {}
    parse_tokens(text, env)
    lines = text.splitlines(keepends=True)
    for reference in env.get("references", {}).values():
        first_line = reference.get("map")
        if _allowed(str(reference.get("href", "")), hosts) or not isinstance(first_line, list):
            continue
        line = lines[first_line[0]]
        bracket = line.find("[")
        if bracket >= 0:
            lines[first_line[0]] = f"{line[:bracket]}\\{line[bracket:]}"
    return "".join(lines)


def _escape(text: str, characters: str) -> str:
    """Backslash-escape each of ``characters`` that is not escaped already."""
    pattern = re.compile(r"(?<!\\)((?:\\\\)*)([" + re.escape(characters) + "])")
    return pattern.sub(r"\1\\\2", text)
