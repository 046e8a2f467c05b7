"""What a website says about its own pages: its sitemap (or sitemap index), its robots.txt, and
the links on a page, for the crawl."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

from lxml import etree  # type: ignore[import-untyped]

USER_AGENT = "supportbot"


@dataclass(frozen=True)
class SitemapEntry:
    """A page (``<url>``) or a nested sitemap (``<sitemap>``) and its ``<lastmod>``."""

    loc: str
    lastmod: str
    is_sitemap: bool


def sitemap_entries(data: bytes) -> list[SitemapEntry]:
    """The entries of a sitemap or sitemap index (any namespace); raises ``ValueError`` when it
    is not XML. Entities are not expanded and nothing is fetched while parsing."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as e:
        raise ValueError(f"is not a sitemap (not XML: {e})") from None
    if root is None:
        raise ValueError("is not a sitemap (empty)")
    entries = []
    for element in root:
        kind = etree.QName(element).localname if isinstance(element.tag, str) else ""
        if kind not in ("url", "sitemap"):
            continue
        fields = {
            etree.QName(child).localname: (child.text or "").strip()
            for child in element
            if isinstance(child.tag, str)
        }
        if fields.get("loc"):
            lastmod = fields.get("lastmod", "")
            entries.append(SitemapEntry(fields["loc"], lastmod, kind == "sitemap"))
    return entries


class Robots:
    """A site's robots.txt rules for our user agent; no file (or an unreadable one) allows all."""

    def __init__(self, text: str | None) -> None:
        self._parser = RobotFileParser()
        self._parser.parse((text or "").splitlines())

    def allows(self, url: str) -> bool:
        return self._parser.can_fetch(USER_AGENT, url)


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/robots.txt"


def same_origin(url: str, other: str) -> bool:
    a, b = urlsplit(url), urlsplit(other)
    return (a.scheme.lower(), a.netloc.lower()) == (b.scheme.lower(), b.netloc.lower())


def page_links(base_url: str, html: bytes) -> list[str]:
    """The absolute targets (without fragments) of a page's ``<a href>`` links, in order."""
    collector = _Links()
    collector.feed(html.decode("utf-8", errors="replace"))
    collector.close()
    links = []
    for href in collector.hrefs:
        target = urldefrag(urljoin(base_url, href.strip())).url
        if urlsplit(target).scheme in ("http", "https"):
            links.append(target)
    return links


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)
