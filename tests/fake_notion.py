"""A loopback Notion API: a database query paged by cursor (one page per answer), a page's
block children (paged too, with nested blocks), a bearer token that can be revoked, archived
pages left out of queries, a page whose blocks fail and a 429 with Retry-After."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.loopback import serve

TOKEN = "secret_notion_token"
DATABASE = "0123456789abcdef0123456789abcdef"


def text(
    kind: str, words: str, block_id: str, children: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "object": "block",
        "id": block_id,
        "type": kind,
        "has_children": bool(children),
        kind: {"rich_text": [{"type": "text", "plain_text": words, "href": None}]},
        "_children": children or [],
    }


def page_url(title: str, page_id: str) -> str:
    return f"https://www.notion.so/{title.replace(' ', '-')}-{page_id.replace('-', '')}"


@dataclass
class NotionPage:
    title: str
    blocks: list[dict[str, Any]]
    edited: str = "2026-12-01T10:00:00.000Z"
    archived: bool = False


@dataclass
class FakeNotion:
    pages: dict[str, NotionPage] = field(default_factory=dict)
    token: str = TOKEN
    failing: set[str] = field(default_factory=set)
    throttled: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, int]] = field(default_factory=list)
    base: str = ""

    def _refused(self, request: web.Request) -> web.Response | None:
        assert request.headers["Notion-Version"] == "2022-06-28"
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"code": "unauthorized"}, status=401)
        return None

    async def query(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        response = refused or self._query(request.match_info["db"], await request.json())
        self.requests.append(("query", response.status))
        return response

    def _query(self, database: str, body: dict[str, Any]) -> web.Response:
        assert database == DATABASE
        live = [(i, p) for i, p in self.pages.items() if not p.archived]
        start = int(body.get("start_cursor") or 0)
        results = [
            {
                "object": "page",
                "id": page_id,
                "url": page_url(page.title, page_id),
                "last_edited_time": page.edited,
                "archived": False,
                "in_trash": False,
                "properties": {"Name": {"type": "title", "title": [{"plain_text": page.title}]}},
            }
            for page_id, page in live[start : start + 1]
        ]
        more = start + 1 < len(live)
        return web.json_response(
            {"results": results, "has_more": more, "next_cursor": str(start + 1) if more else None}
        )

    async def children(self, request: web.Request) -> web.Response:
        block_id = request.match_info["id"]
        response = self._refused(request) or self._children(block_id, request)
        self.requests.append((block_id, response.status))
        return response

    def _children(self, block_id: str, request: web.Request) -> web.Response:
        if self.throttled.get(block_id):
            self.throttled[block_id] -= 1
            return web.json_response(
                {"code": "rate_limited"}, status=429, headers={"Retry-After": "0"}
            )
        if block_id in self.failing:
            return web.json_response({"code": "internal_server_error"}, status=500)
        blocks = self._blocks(block_id)
        if blocks is None:
            return web.json_response({"code": "object_not_found"}, status=404)
        start = int(request.query.get("start_cursor") or 0)
        part = [{k: v for k, v in b.items() if k != "_children"} for b in blocks[start : start + 2]]
        more = start + 2 < len(blocks)
        return web.json_response(
            {"results": part, "has_more": more, "next_cursor": str(start + 2) if more else None}
        )

    def _blocks(self, block_id: str) -> list[dict[str, Any]] | None:
        if block_id in self.pages:
            return self.pages[block_id].blocks
        for page in self.pages.values():
            for block in page.blocks:
                if block["id"] == block_id:
                    return list(block["_children"])
        return None


@asynccontextmanager
async def fake_notion() -> AsyncIterator[FakeNotion]:
    fake = FakeNotion()
    app = web.Application()
    app.router.add_post("/v1/databases/{db}/query", fake.query)
    app.router.add_get("/v1/blocks/{id}/children", fake.children)
    async with serve(app) as base:
        fake.base = f"{base}/v1"
        yield fake
