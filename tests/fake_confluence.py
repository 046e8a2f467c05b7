"""A loopback Confluence Cloud REST API: the content listing of a space (paged by ``limit`` with
``_links.next``), one page with its storage body, Basic auth that can expire, read restrictions,
a page that fails and a listing that answers 429 with Retry-After first."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.loopback import serve

EMAIL, TOKEN = "bot@example.com", "api-token-1"


@dataclass
class Page:
    title: str
    body: str
    version: int = 1
    groups: tuple[str, ...] = ()
    status: str = "current"


@dataclass
class FakeConfluence:
    """The space ``HR``'s pages by id; change them between syncs."""

    pages: dict[str, Page] = field(default_factory=dict)
    token: str = TOKEN
    failing: set[str] = field(default_factory=set)
    garbled: set[str] = field(default_factory=set)
    throttle_listing: int = 0
    page_size: int = 2
    requests: list[tuple[str, int]] = field(default_factory=list)
    base: str = ""

    def _authorised(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{EMAIL}:{self.token}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    async def content(self, request: web.Request) -> web.Response:
        response = self._content(request)
        self.requests.append(("list", response.status))
        return response

    def _content(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"message": "Unauthorized"}, status=401)
        if self.throttle_listing:
            self.throttle_listing -= 1
            return web.json_response({}, status=429, headers={"Retry-After": "0"})
        query = request.query
        assert (query["spaceKey"], query["type"], query["status"]) == ("HR", "page", "current")
        assert "restrictions.read.restrictions.group" in query["expand"]
        start, limit = int(query.get("start", 0)), int(query["limit"])
        limit = min(limit, self.page_size)
        current = [(i, p) for i, p in self.pages.items() if p.status == "current"]
        chunk = current[start : start + limit]
        links: dict[str, str] = {"base": f"{self.base}/wiki"}
        if start + limit < len(current):
            links["next"] = (
                f"/rest/api/content?spaceKey=HR&type=page&status=current"
                f"&expand={query['expand']}&limit={limit}&start={start + limit}"
            )
        return web.json_response(
            {"results": [self._summary(i, p) for i, p in chunk], "_links": links}
        )

    async def page(self, request: web.Request) -> web.Response:
        page_id = request.match_info["id"]
        self.requests.append((page_id, 0))
        if not self._authorised(request):
            return web.json_response({"message": "Unauthorized"}, status=401)
        if page_id in self.failing:
            return web.json_response({"message": "boom"}, status=500)
        if page_id in self.garbled:
            return web.Response(text="<html>a proxy's page</html>", content_type="text/html")
        page = self.pages.get(page_id)
        if page is None or page.status != "current":
            return web.json_response({"message": "No content"}, status=404)
        summary = self._summary(page_id, page)
        summary["body"] = {"storage": {"value": page.body, "representation": "storage"}}
        return web.json_response(summary)

    def _summary(self, page_id: str, page: Page) -> dict[str, Any]:
        groups = [{"type": "group", "name": g} for g in page.groups]
        return {
            "id": page_id,
            "type": "page",
            "status": page.status,
            "title": page.title,
            "version": {"number": page.version},
            "restrictions": {
                "read": {"restrictions": {"group": {"results": groups}, "user": {"results": []}}}
            },
            "_links": {"webui": f"/spaces/HR/pages/{page_id}/{page.title.replace(' ', '+')}"},
        }


@asynccontextmanager
async def fake_confluence() -> AsyncIterator[FakeConfluence]:
    fake = FakeConfluence()
    app = web.Application()
    app.router.add_get("/wiki/rest/api/content", fake.content)
    app.router.add_get("/wiki/rest/api/content/{id}", fake.page)
    async with serve(app) as base:
        fake.base = base
        yield fake
