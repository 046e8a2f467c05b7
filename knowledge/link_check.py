"""Checking that documents' links open: the page answers, and on an HTML page every anchor a
citation uses is an element's id.

Each link is requested through the guarded fetcher, so a check reaches only the networks the
operator allows: a document's link is not always the operator's choice (a file sent in chat
declares its own ``url:``, a page's redirect decides where it is linked).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Literal, Protocol
from urllib.parse import unquote, urlsplit

from knowledge.loading.guarded_fetch import FetchRefused, Probe, is_web_link

Verdict = Literal["open", "broken", "unreachable", "not allowed", "not checked"]
"""``open`` and ``broken`` are known (and recorded); the others say why nothing is known."""

# Signing in may open these for employees; the checker cannot tell.
_NEEDS_SIGN_IN = frozenset({401, 403, 407})
# The server's trouble, or its limit on the checker: try again later.
_TRY_LATER = frozenset({408, 425, 429})


@dataclass(frozen=True)
class LinkTarget:
    """One document's link and the anchors (``#...``, without the page) it is cited with."""

    document_id: str
    title: str
    url: str
    content_hash: str
    anchors: tuple[str, ...]


@dataclass(frozen=True)
class LinkCheck:
    """What checking one document's link found; ``problem`` says what, for all but ``open``."""

    target: LinkTarget
    verdict: Verdict
    problem: str = ""


class LinkProber(Protocol):
    """Follows a link and says what answered (``GuardedFetcher``)."""

    async def probe(self, url: str) -> Probe: ...


async def check_links(
    targets: Sequence[LinkTarget],
    prober: LinkProber,
    *,
    parallel: int = 4,
    progress: Callable[[LinkCheck], object] | None = None,
) -> list[LinkCheck]:
    """Check every target's link, ``parallel`` at a time; the checks in the targets' order.
    ``progress`` is told of each check as it ends."""
    gate = asyncio.Semaphore(parallel)

    async def one(target: LinkTarget) -> LinkCheck:
        async with gate:
            check = await check_link(target, prober)
        if progress is not None:
            progress(check)
        return check

    return list(await asyncio.gather(*(one(t) for t in targets)))


async def check_link(target: LinkTarget, prober: LinkProber) -> LinkCheck:
    """Whether ``target``'s page answers and, if it is HTML, has every cited anchor."""
    if not is_web_link(target.url):
        return LinkCheck(target, "not checked", "not a web link")
    page = target.url.split("#", 1)[0]
    try:
        probe = await prober.probe(page)
    except FetchRefused as e:
        return LinkCheck(target, "not allowed" if e.blocked else "unreachable", e.detail)
    if probe.status in _NEEDS_SIGN_IN:
        return LinkCheck(target, "not checked", f"HTTP {probe.status}: needs signing in")
    if probe.status in _TRY_LATER or probe.status >= 500:
        return LinkCheck(target, "unreachable", f"HTTP {probe.status}")
    if probe.status >= 400:
        return LinkCheck(target, "broken", f"HTTP {probe.status}")
    if not probe.data or not target.anchors:
        return LinkCheck(target, "open")
    if urlsplit(probe.final_url).netloc != urlsplit(page).netloc:
        # A sign-in page, most likely: its anchors say nothing about the document's.
        where = urlsplit(probe.final_url).netloc
        return LinkCheck(target, "not checked", f"redirects to {where}: anchors not checked")
    ids = page_ids(probe.data)
    missing = [a for a in target.anchors if not _found(a, ids)]
    if missing:
        return LinkCheck(target, "broken", "no " + ", ".join(missing) + " on the page")
    return LinkCheck(target, "open")


def page_ids(html: bytes) -> frozenset[str]:
    """Every fragment an HTML page answers to: element ids and ``<a name>``s."""
    collector = _Ids()
    collector.feed(html.decode("utf-8", errors="replace"))
    collector.close()
    return frozenset(collector.ids)


def _found(anchor: str, ids: frozenset[str]) -> bool:
    fragment = unquote(anchor.removeprefix("#"))
    if anchor.startswith("#page=") or fragment in ("", "top"):
        return True
    # GitHub renders a Markdown file's headings as ``user-content-<slug>`` and scrolls to them.
    return fragment in ids or f"user-content-{fragment}" in ids


class _Ids(HTMLParser):
    """Collects ids while tokenising: no tree is built, so no page can make it deep."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (name == "id" or (tag == "a" and name == "name")):
                self.ids.add(value)
