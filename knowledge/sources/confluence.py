"""A Confluence Cloud space as a source, over its REST API (``/wiki/rest/api/content``).

The listing asks for the space's current pages with their version and read restrictions, page
by page of results; the version number is the change marker, so an unchanged page is not
fetched. A page's body is its storage format (XHTML), parsed as HTML; its link is its page URL.
Archived, trashed and deleted pages are not current, so they drop out of the listing and are
removed. A page restricted to groups gets the scopes the access file maps those groups to
(``sources: groups:``); a restricted page none of whose groups is mapped gets only the source's
own scopes other than ``public``, so it is never public. Restrictions a page inherits from its
ancestors are not read.

Requests go only to the configured site (no redirects are followed, so the credentials never
travel elsewhere), with the e-mail and API token from the settings.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

import httpx

from knowledge.errors import LoadError
from knowledge.loading.guarded_fetch import is_web_link
from knowledge.loading.sources import RawSource
from knowledge.sources.connector import (
    ConnectorContext,
    CredentialsError,
    ItemGone,
    SourceError,
)
from knowledge.sources.permissions import restricted_scopes
from knowledge.sources.retries import politely
from knowledge.sources.types import ItemContent, Listing, SourceItem

CREDENTIALS = ("confluence_email", "confluence_token")
_SPACE = re.compile(r"^[A-Za-z0-9~_-]+$")
_PAGE_SIZE = 50
_LIST_EXPAND = "version,restrictions.read.restrictions.group,restrictions.read.restrictions.user"


def confluence_settings(options: Mapping[str, Any]) -> dict[str, Any]:
    """``site`` (``https://example.atlassian.net``) and ``space`` (its key)."""
    site, space = options.get("site"), options.get("space")
    if not site or not space:
        raise ValueError("a confluence source needs --site URL and --space KEY")
    if not is_web_link(str(site)):
        raise ValueError(f"{site!r} is not an http(s) URL")
    if not _SPACE.match(str(space)):
        raise ValueError(f"--space {space!r} is not a space key")
    return {"site": str(site).rstrip("/"), "space": str(space)}


class ConfluenceConnector:
    """The current pages of one Confluence space."""

    def __init__(self, settings: Mapping[str, Any], context: ConnectorContext) -> None:
        self._site = str(settings["site"])
        self._space = str(settings["space"])
        self._context = context
        self._scopes = restricted_scopes(context.scopes)
        email, token = (context.credentials.get(name) for name in CREDENTIALS)
        self._client = httpx.AsyncClient(
            base_url=f"{self._site}/wiki",
            auth=httpx.BasicAuth(email, token) if email and token else None,
            timeout=context.timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"Accept": "application/json", "User-Agent": "supportbot"},
        )
        self._missing = not (email and token)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def list_items(self, cursor: str | None) -> Listing:
        if self._missing:
            raise CredentialsError(
                "a confluence source needs SUPPORTBOT_CONFLUENCE_EMAIL and "
                "SUPPORTBOT_CONFLUENCE_API_TOKEN"
            )
        items: list[SourceItem] = []
        params: dict[str, Any] | None = {
            "spaceKey": self._space,
            "type": "page",
            "status": "current",
            "expand": _LIST_EXPAND,
            "limit": _PAGE_SIZE,
        }
        path = "/rest/api/content"
        while True:
            body = await self._json(path, params, listing=True)
            for page in body.get("results", []):
                change = str((page.get("version") or {}).get("number", ""))
                items.append(SourceItem(str(page["id"]), change, self._page_scopes(page)))
            following = (body.get("_links") or {}).get("next")
            if not following:
                return Listing(tuple(items))
            path, params = str(following).removeprefix("/wiki"), None

    async def fetch(self, item: SourceItem, known_change: str | None) -> ItemContent | None:
        page = await self._json(
            f"/rest/api/content/{item.id}", {"expand": "body.storage,version"}, item=item.id
        )
        title = str(page.get("title") or item.id)
        links = page.get("_links") or {}
        url = urljoin(f"{self._site}/wiki/", str(links.get("webui", "")).lstrip("/"))
        storage = ((page.get("body") or {}).get("storage") or {}).get("value") or ""
        document = (
            f"<html><head><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1>{storage}</body></html>"
        )
        raw = RawSource(title, document.encode(), "html", url, url, fetched=True)
        return ItemContent(raw)

    def _page_scopes(self, page: Mapping[str, Any]) -> tuple[str, ...] | None:
        read = ((page.get("restrictions") or {}).get("read") or {}).get("restrictions") or {}
        groups = [g.get("name", "") for g in (read.get("group") or {}).get("results", [])]
        users = (read.get("user") or {}).get("results", [])
        if not groups and not users:
            return None
        mapped = {s for g in groups for s in self._context.groups.get(g, ())}
        return tuple(sorted(mapped)) if mapped else self._scopes

    async def _json(
        self,
        path: str,
        params: Mapping[str, Any] | None,
        *,
        listing: bool = False,
        item: str = "",
    ) -> Any:
        try:
            response = await politely(
                lambda: self._client.get(path, params=params),
                lambda r: (r.status_code, r.headers),
                max_wait=self._context.max_retry_wait,
            )
        except httpx.HTTPError as e:
            reason = f"{self._site} cannot be reached ({type(e).__name__})"
            raise (SourceError(reason) if listing else LoadError(item, reason)) from None
        if response.status_code in (401, 403) and (listing or response.status_code == 401):
            raise CredentialsError(
                f"{self._site} refused the Confluence credentials (HTTP {response.status_code}):"
                " check SUPPORTBOT_CONFLUENCE_EMAIL and SUPPORTBOT_CONFLUENCE_API_TOKEN"
            )
        if response.status_code == 404 and not listing:
            raise ItemGone(item, "HTTP 404")
        if response.status_code != 200:
            reason = f"{self._site} answered HTTP {response.status_code}"
            raise SourceError(reason) if listing else LoadError(f"page {item}", reason)
        return response.json()
