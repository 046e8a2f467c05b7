"""A Notion database as a source, over the Notion API (``api.notion.com/v1``).

The listing queries the database, page by page of results; a page's ``last_edited_time`` is
the change marker. Archived and trashed pages are not returned by a query, so they are removed.
A page's blocks (and those nested under them, a few levels deep) become HTML for the loader,
each heading anchored as Notion links to its block. Notion tells an integration nothing about
who else may see a page, so the pages get the source's scopes.

Requests go only to the API's address with the integration token from the settings, without
following redirects.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

import httpx

from knowledge.errors import LoadError
from knowledge.loading.sources import RawSource
from knowledge.sources.connector import ConnectorContext, CredentialsError, ItemGone, SourceError
from knowledge.sources.notion_blocks import Block, blocks_html
from knowledge.sources.retries import politely
from knowledge.sources.types import ItemContent, Listing, SourceItem

CREDENTIALS = ("notion_token",)
API_URL = "https://api.notion.com/v1"
NOTION_VERSION = "2022-06-28"
_ID = re.compile(r"^[0-9a-fA-F-]{32,36}$")
_DEPTH = 3


def notion_settings(options: Mapping[str, Any]) -> dict[str, Any]:
    """``database`` (its id) and, for tests and proxies, ``api`` (the API's base URL)."""
    database = str(options.get("database") or "")
    if not _ID.match(database):
        raise ValueError("a notion source needs --database ID (the 32 hex digits in its link)")
    settings = {"database": database}
    if options.get("api"):
        settings["api"] = str(options["api"]).rstrip("/")
    return settings


class NotionConnector:
    """The pages of one Notion database."""

    def __init__(self, settings: Mapping[str, Any], context: ConnectorContext) -> None:
        self._database = str(settings["database"])
        self._context = context
        token = context.credentials.get("notion_token")
        self._missing = not token
        self._client = httpx.AsyncClient(
            base_url=str(settings.get("api") or API_URL),
            headers={
                "Authorization": f"Bearer {token}",
                "Notion-Version": NOTION_VERSION,
                "User-Agent": "supportbot",
            },
            timeout=context.timeout,
            follow_redirects=False,
            trust_env=False,
        )
        self._pages: dict[str, tuple[str, str]] = {}

    async def aclose(self) -> None:
        await self._client.aclose()

    async def list_items(self, cursor: str | None) -> Listing:
        if self._missing:
            raise CredentialsError("a notion source needs SUPPORTBOT_NOTION_TOKEN")
        items: list[SourceItem] = []
        body: dict[str, Any] = {"page_size": 100}
        while True:
            answer = await self._call("POST", f"/databases/{self._database}/query", body, "")
            for page in answer.get("results", []):
                if page.get("archived") or page.get("in_trash"):
                    continue
                page_id = str(page["id"])
                self._pages[page_id] = (_title(page), str(page.get("url") or ""))
                items.append(SourceItem(page_id, str(page.get("last_edited_time", ""))))
            if not answer.get("has_more"):
                return Listing(tuple(items))
            body = {"page_size": 100, "start_cursor": answer.get("next_cursor")}

    async def fetch(self, item: SourceItem, known_change: str | None) -> ItemContent | None:
        title, url = self._pages.get(item.id, (item.id, ""))
        children: dict[str, list[Block]] = {}
        top = await self._children(item.id, children, _DEPTH)
        page = (
            f"<html><head><title>{html.escape(title)}</title></head><body>"
            f"<h1>{html.escape(title)}</h1>{blocks_html(top, children)}</body></html>"
        )
        return ItemContent(RawSource(title, page.encode(), "html", url, url, fetched=True))

    async def _children(
        self, block_id: str, children: dict[str, list[Block]], depth: int
    ) -> list[Block]:
        blocks: list[Block] = []
        query = "page_size=100"
        while True:
            answer = await self._call("GET", f"/blocks/{block_id}/children?{query}", None, block_id)
            blocks += answer.get("results", [])
            if not answer.get("has_more"):
                break
            query = f"page_size=100&start_cursor={answer.get('next_cursor')}"
        for block in blocks:
            if block.get("has_children") and depth > 1:
                block_key = str(block["id"])
                children[block_key] = await self._children(block_key, children, depth - 1)
        return blocks

    async def _call(self, method: str, path: str, body: Any, item: str) -> Any:
        listing = not item
        try:
            response = await politely(
                lambda: self._client.request(method, path, json=body),
                lambda r: (r.status_code, r.headers),
                max_wait=self._context.max_retry_wait,
            )
        except httpx.HTTPError as e:
            reason = f"the Notion API cannot be reached ({type(e).__name__})"
            raise (SourceError(reason) if listing else LoadError(item, reason)) from None
        if response.status_code == 401:
            raise CredentialsError(
                "Notion refused the integration token (HTTP 401): check SUPPORTBOT_NOTION_TOKEN"
            )
        if response.status_code == 404 and not listing:
            raise ItemGone(item, "HTTP 404")
        if response.status_code != 200:
            reason = f"the Notion API answered HTTP {response.status_code}"
            if response.status_code == 404:
                reason += " (is the database shared with the integration?)"
            raise SourceError(reason) if listing else LoadError(f"page {item}", reason)
        return response.json()


def _title(page: Mapping[str, Any]) -> str:
    for value in (page.get("properties") or {}).values():
        if isinstance(value, dict) and value.get("type") == "title":
            return "".join(str(t.get("plain_text", "")) for t in value.get("title") or [])
    return str(page.get("id"))
