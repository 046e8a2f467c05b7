"""A loopback website for the web source: pages, a sitemap (with or without ``<lastmod>``),
robots.txt, ETags with 304s, pages that fail, and pages that answer 429 with Retry-After first."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

from tests.loopback import serve


@dataclass
class FakeSite:
    """What the site serves; change it between syncs. ``requests`` logs (path, status)."""

    pages: dict[str, str] = field(default_factory=dict)
    lastmod: dict[str, str] = field(default_factory=dict)
    robots: str | None = None
    failing: set[str] = field(default_factory=set)
    throttled: dict[str, int] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    sitemap_status: int = 200
    requests: list[tuple[str, int]] = field(default_factory=list)
    base: str = ""

    def page(self, path: str, title: str, body: str, links: tuple[str, ...] = ()) -> None:
        anchors = "".join(f'<a href="{link}">{link}</a> ' for link in links)
        self.pages[path] = (
            f"<html><head><title>{title}</title></head><body><h1>{title}</h1>"
            f"{body}<p>{anchors}</p></body></html>"
        )

    def sitemap(self) -> str:
        urls = "".join(
            f"<url><loc>{self.base}{path}</loc>"
            + (f"<lastmod>{self.lastmod[path]}</lastmod>" if path in self.lastmod else "")
            + "</url>"
            for path in self.pages
        )
        return (
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{urls}</urlset>"
        )

    def page_requests(self) -> list[tuple[str, int]]:
        return [(p, s) for p, s in self.requests if p in self.pages or p in self.failing]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        response = self._answer(request)
        self.requests.append((request.path, response.status))
        return response

    def _answer(self, request: web.Request) -> web.Response:
        path = request.path
        if path == "/robots.txt":
            if self.robots is None:
                return web.Response(status=404)
            return web.Response(text=self.robots, content_type="text/plain")
        if path == "/sitemap.xml":
            if self.sitemap_status != 200:
                return web.Response(status=self.sitemap_status)
            return web.Response(text=self.sitemap(), content_type="application/xml")
        if path in self.redirects:
            raise web.HTTPFound(self.redirects[path])
        if self.throttled.get(path):
            self.throttled[path] -= 1
            return web.Response(status=429, headers={"Retry-After": "0"})
        if path in self.failing:
            return web.Response(status=500, text="boom")
        if path not in self.pages:
            return web.Response(status=404)
        body = self.pages[path]
        etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(text=body, content_type="text/html", headers={"ETag": etag})


@asynccontextmanager
async def fake_site() -> AsyncIterator[FakeSite]:
    site = FakeSite()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", site.handle)
    async with serve(app) as base:
        site.base = base
        yield site
