"""A website as a source: the pages its sitemap lists, or those a crawl from a start URL finds
within a path prefix; robots.txt is honoured either way.

Every request goes through the guarded fetcher. The host of the sitemap or start URL is the
operator's own choice on the command line, so it is allowed even when it is inside the network;
any other host (a redirect elsewhere) must be public or in ``SUPPORTBOT_FETCH_ALLOWED_NETWORKS``.
Pages are only taken from the configured site (its scheme, host and port).

A sitemap's ``<lastmod>`` is the change marker, so an unchanged page is not even requested;
without one, a page is requested with its last ``ETag``/``Last-Modified`` and a 304 skips it.
A crawl must read every page to find the links, so it compares the bytes instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urldefrag, urlsplit

from knowledge.errors import LoadError
from knowledge.loading.addresses import AllowList
from knowledge.loading.guarded_fetch import (
    Fetched,
    FetchPolicy,
    FetchRefused,
    GuardedFetcher,
    Probe,
    is_web_link,
)
from knowledge.loading.sources import web_source
from knowledge.sources.connector import ConnectorContext, ItemGone, SourceError
from knowledge.sources.retries import politely
from knowledge.sources.site_maps import (
    Robots,
    page_links,
    robots_url,
    same_origin,
    sitemap_entries,
)
from knowledge.sources.types import ItemContent, Listing, SourceItem

DEFAULT_MAX_PAGES = 5000
_MAX_SITEMAPS = 50
_GONE = (404, 410)


def web_settings(options: Mapping[str, Any]) -> dict[str, Any]:
    """A web source's settings from ``sitemap`` or ``start`` (with an optional ``prefix``) and
    ``max_pages``; raises ``ValueError`` naming what is wrong."""
    sitemap, start = options.get("sitemap"), options.get("start")
    if bool(sitemap) == bool(start):
        raise ValueError("a web source needs either --sitemap URL or --start URL")
    url = str(sitemap or start)
    if not is_web_link(url):
        raise ValueError(f"{url!r} is not an http(s) URL")
    max_pages = int(options.get("max_pages") or DEFAULT_MAX_PAGES)
    if max_pages < 1:
        raise ValueError("--max-pages must be at least 1")
    if sitemap:
        return {"sitemap": url, "max_pages": max_pages}
    path = urlsplit(url).path or "/"
    prefix = str(options.get("prefix") or path[: path.rfind("/") + 1] or "/")
    if not prefix.startswith("/"):
        raise ValueError(f"--prefix {prefix!r} must be a path starting with /")
    return {"start": url, "prefix": prefix, "max_pages": max_pages}


class WebConnector:
    """A website's pages, from its sitemap or a crawl."""

    def __init__(self, settings: Mapping[str, Any], context: ConnectorContext) -> None:
        self._settings = settings
        self._root = str(settings.get("sitemap") or settings["start"])
        self._context = context
        host = (urlsplit(self._root).hostname or "").lower()
        allowed = AllowList(context.allowed.networks, context.allowed.hosts | {host})
        self._fetcher = GuardedFetcher(
            FetchPolicy(allowed, max_bytes=context.max_bytes, deadline_seconds=context.timeout)
        )
        self._crawled: dict[str, Fetched | LoadError] = {}

    async def aclose(self) -> None:
        self._crawled.clear()

    async def list_items(self, cursor: str | None) -> Listing:
        robots = await self._robots()
        if "sitemap" in self._settings:
            return Listing(tuple(await self._from_sitemap(robots)))
        return Listing(tuple(await self._crawl(robots)))

    async def fetch(self, item: SourceItem, known_change: str | None) -> ItemContent | None:
        crawled = self._crawled.pop(item.id, None)
        if isinstance(crawled, LoadError):
            raise crawled
        if crawled is not None:
            return ItemContent(web_source(crawled))
        headers = _conditional(known_change)
        answer = await self._get(item.id, headers)
        if answer.status == 304:
            return None
        if answer.status in _GONE:
            raise ItemGone(item.id, f"HTTP {answer.status}")
        if not 200 <= answer.status < 300:
            raise LoadError(item.id, f"the server answered HTTP {answer.status}")
        return ItemContent(web_source(_fetched(answer)), change=_validator(answer.headers))

    async def _robots(self) -> Robots:
        try:
            answer = await self._get(robots_url(self._root), {})
        except LoadError:
            return Robots(None)
        ok = 200 <= answer.status < 300
        return Robots(answer.data.decode("utf-8", errors="replace") if ok else None)

    async def _from_sitemap(self, robots: Robots) -> list[SourceItem]:
        pending, read = [self._root], 0
        pages: dict[str, SourceItem] = {}
        max_pages = int(self._settings.get("max_pages") or DEFAULT_MAX_PAGES)
        while pending and read < _MAX_SITEMAPS:
            url = pending.pop(0)
            read += 1
            try:
                answer = await self._get(url, {})
            except LoadError as e:
                raise SourceError(f"the sitemap {url} could not be read: {e.reason}") from None
            if not 200 <= answer.status < 300:
                raise SourceError(f"the sitemap {url} could not be read: HTTP {answer.status}")
            try:
                entries = sitemap_entries(answer.data)
            except ValueError as e:
                raise SourceError(f"the sitemap {url} {e}") from None
            for entry in entries:
                loc = urldefrag(entry.loc).url
                if not same_origin(loc, self._root):
                    continue
                if entry.is_sitemap:
                    pending.append(loc)
                elif robots.allows(loc) and len(pages) < max_pages:
                    pages.setdefault(loc, SourceItem(loc, change=entry.lastmod))
        return list(pages.values())

    async def _crawl(self, robots: Robots) -> list[SourceItem]:
        start, prefix = self._root, str(self._settings["prefix"])
        max_pages = int(self._settings.get("max_pages") or DEFAULT_MAX_PAGES)
        queue, seen = [start], {start}
        items: list[SourceItem] = []
        while queue and len(items) < max_pages:
            url = queue.pop(0)
            if not robots.allows(url):
                continue
            try:
                answer = await self._get(url, {})
            except LoadError as e:
                if url == start:
                    reason = f"the start page {url} could not be read: {e.reason}"
                    raise SourceError(reason) from None
                self._crawled[url] = e
                items.append(SourceItem(url))
                continue
            if answer.status in _GONE or answer.status in (401, 403):
                if url == start:
                    raise SourceError(f"the start page {url} answered HTTP {answer.status}")
                continue
            if not 200 <= answer.status < 300:
                self._crawled[url] = LoadError(url, f"the server answered HTTP {answer.status}")
                items.append(SourceItem(url))
                continue
            self._crawled[url] = _fetched(answer)
            items.append(SourceItem(url))
            if answer.media_type not in ("text/html", "application/xhtml+xml"):
                continue
            for link in page_links(answer.final_url, answer.data):
                if link not in seen and _within(link, start, prefix):
                    seen.add(link)
                    queue.append(link)
        return items

    async def _get(self, url: str, headers: Mapping[str, str]) -> Probe:
        """``url``'s answer, waiting as a 429 asks; raises ``LoadError`` naming why nothing
        answered."""
        try:
            return await politely(
                lambda: self._fetcher.get(url, headers),
                lambda answer: (answer.status, answer.headers),
                max_wait=self._context.max_retry_wait,
            )
        except FetchRefused as e:
            raise LoadError(url, e.detail) from None


def _within(url: str, start: str, prefix: str) -> bool:
    return same_origin(url, start) and (urlsplit(url).path or "/").startswith(prefix)


def _fetched(answer: Probe) -> Fetched:
    return Fetched(answer.url, answer.final_url, answer.media_type, answer.data)


def _validator(headers: Mapping[str, str]) -> str:
    """The change marker an answer gives: its ETag, else its Last-Modified."""
    if headers.get("etag"):
        return "etag:" + headers["etag"]
    if headers.get("last-modified"):
        return "modified:" + headers["last-modified"]
    return ""


def _conditional(change: str | None) -> dict[str, str]:
    kind, _, value = (change or "").partition(":")
    if kind == "etag":
        return {"If-None-Match": value}
    if kind == "modified":
        return {"If-Modified-Since": value}
    return {}
