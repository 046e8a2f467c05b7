"""A SharePoint document library or OneDrive (a Microsoft Graph drive) as a source, over the
Graph REST API with delta queries.

The first sync walks the drive's delta feed from the start (every item, page by page) and keeps
its ``@odata.deltaLink``; each later sync asks that link for the changes alone: files added,
changed (their ``cTag``, which changes with the content, is the change marker), deleted, or
moved out of ``--folder``, which are removed. A delta link the drive no longer honours (HTTP
410) starts a full listing again. Files of the formats the loaders read are taken; a file's
content is downloaded from the pre-authenticated address Graph redirects to, without the token.
A file's sharing gives its scopes (``sharepoint_sharing``).

Signs in as an app (client credentials) with the tenant, client id and secret from the settings.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

import httpx

from knowledge.errors import LoadError
from knowledge.loading.sources import FORMATS_BY_EXTENSION, RawSource
from knowledge.sources.connector import ConnectorContext, CredentialsError, ItemGone, SourceError
from knowledge.sources.permissions import restricted_scopes
from knowledge.sources.retries import politely
from knowledge.sources.sharepoint_sharing import sharing_scopes
from knowledge.sources.types import ItemContent, Listing, SourceItem

CREDENTIALS = ("graph_tenant", "graph_client_id", "graph_client_secret")
GRAPH_URL = "https://graph.microsoft.com/v1.0"
LOGIN_URL = "https://login.microsoftonline.com"
# Files whose sharing changed come up in the delta feed too (SharePoint and OneDrive for work).
_SHARING_CHANGES = {"Prefer": "deltashowsharingchanges, hierarchicalsharing"}
_DRIVE = re.compile(r"^[A-Za-z0-9!_-]+$")


def sharepoint_settings(options: Mapping[str, Any]) -> dict[str, Any]:
    """``drive`` (a Graph drive id), optionally ``folder`` (a path in it), and, for tests and
    national clouds, ``graph`` and ``login`` (the API's and the sign-in's base URLs)."""
    drive = str(options.get("drive") or "")
    if not _DRIVE.match(drive):
        raise ValueError("a sharepoint source needs --drive ID (the Graph drive id)")
    settings: dict[str, Any] = {
        "drive": drive,
        "folder": str(options.get("folder") or "").strip("/"),
    }
    for name in ("graph", "login"):
        if options.get(name):
            settings[name] = str(options[name]).rstrip("/")
    return settings


class SharePointConnector:
    """The files of one Graph drive (under one folder), followed through its delta feed."""

    def __init__(self, settings: Mapping[str, Any], context: ConnectorContext) -> None:
        self._drive = str(settings["drive"])
        self._folder = str(settings.get("folder") or "")
        self._graph = str(settings.get("graph") or GRAPH_URL)
        self._login = str(settings.get("login") or LOGIN_URL)
        self._context = context
        self._client = httpx.AsyncClient(
            timeout=context.timeout, follow_redirects=False, trust_env=False
        )
        self._token: str | None = None
        self._restricted = restricted_scopes(context.scopes)
        self._files: dict[str, tuple[str, str]] = {}

    async def aclose(self) -> None:
        await self._client.aclose()

    async def list_items(self, cursor: str | None) -> Listing:
        await self._sign_in()
        link = cursor or f"{self._graph}/drives/{self._drive}/root/delta"
        items: dict[str, SourceItem] = {}
        while True:
            response = await self._get(link, _SHARING_CHANGES)
            if response.status_code == 410 and cursor:
                return await self.list_items(None)
            if response.status_code != 200:
                raise SourceError(f"the drive {self._drive} answered HTTP {response.status_code}")
            body = response.json()
            for entry in body.get("value", []):
                items[str(entry["id"])] = self._item(entry)
            if body.get("@odata.nextLink"):
                link = str(body["@odata.nextLink"])
                continue
            complete = cursor is None
            kept = [i for i in items.values() if not (complete and i.removed)]
            kept = [i if i.removed else await self._shared(i) for i in kept]
            return Listing(tuple(kept), complete=complete, cursor=body.get("@odata.deltaLink"))

    async def fetch(self, item: SourceItem, known_change: str | None) -> ItemContent | None:
        name, url = self._files.get(item.id, (item.id, ""))
        content = f"{self._graph}/drives/{self._drive}/items/{quote(item.id)}/content"
        response = await self._get(content)
        if response.status_code == 404:
            raise ItemGone(name, "HTTP 404")
        if response.status_code in (301, 302, 303, 307, 308) and response.headers.get("location"):
            response = await politely(
                lambda: self._client.get(response.headers["location"]),
                lambda r: (r.status_code, r.headers),
                max_wait=self._context.max_retry_wait,
            )
        if response.status_code != 200:
            raise LoadError(name, f"the download answered HTTP {response.status_code}")
        if len(response.content) > self._context.max_bytes:
            raise LoadError(name, "is over the size limit")
        fmt = FORMATS_BY_EXTENSION[PurePosixPath(name).suffix.lower()]
        return ItemContent(RawSource(name, response.content, fmt, url, url, fetched=True))

    async def _shared(self, item: SourceItem) -> SourceItem:
        """``item`` with the scopes its sharing gives it."""
        url = f"{self._graph}/drives/{self._drive}/items/{quote(item.id)}/permissions"
        response = await self._get(url)
        if response.status_code != 200:
            raise SourceError(
                f"the drive {self._drive} answered HTTP {response.status_code} for a file's sharing"
            )
        permissions = response.json().get("value", [])
        scopes = sharing_scopes(permissions, self._context.groups, self._restricted)
        return dataclasses.replace(item, scopes=scopes)

    def _item(self, entry: Mapping[str, Any]) -> SourceItem:
        item_id, name = str(entry["id"]), str(entry.get("name") or "")
        parent = str((entry.get("parentReference") or {}).get("path") or "")
        in_scope = (
            "file" in entry
            and "deleted" not in entry
            and PurePosixPath(name).suffix.lower() in FORMATS_BY_EXTENSION
            and self._within(parent)
        )
        if not in_scope:
            return SourceItem(item_id, removed=True)
        self._files[item_id] = (name, str(entry.get("webUrl") or ""))
        return SourceItem(item_id, str(entry.get("cTag") or entry.get("eTag") or ""))

    def _within(self, parent: str) -> bool:
        if not self._folder:
            return True
        folder = parent.split("root:", 1)[1].strip("/") if "root:" in parent else ""
        return folder == self._folder or folder.startswith(self._folder + "/")

    async def _sign_in(self) -> None:
        tenant, client_id, secret = (self._context.credentials.get(n) for n in CREDENTIALS)
        if not (tenant and client_id and secret):
            raise CredentialsError(
                "a sharepoint source needs SUPPORTBOT_GRAPH_TENANT_ID, SUPPORTBOT_GRAPH_CLIENT_ID "
                "and SUPPORTBOT_GRAPH_CLIENT_SECRET"
            )
        try:
            response = await self._client.post(
                f"{self._login}/{quote(tenant)}/oauth2/v2.0/token",
                data={
                    "client_id": client_id,
                    "client_secret": secret,
                    "scope": "https://graph.microsoft.com/.default",
                    "grant_type": "client_credentials",
                },
            )
        except httpx.HTTPError as e:
            raise SourceError(f"cannot sign in to Microsoft ({type(e).__name__})") from None
        if response.status_code != 200:
            raise CredentialsError(
                f"Microsoft refused the app's credentials (HTTP {response.status_code}): check "
                "SUPPORTBOT_GRAPH_TENANT_ID, SUPPORTBOT_GRAPH_CLIENT_ID and _CLIENT_SECRET"
            )
        self._token = str(response.json()["access_token"])

    async def _get(self, url: str, headers: Mapping[str, str] | None = None) -> httpx.Response:
        sent = {**(headers or {}), "Authorization": f"Bearer {self._token}"}
        try:
            response = await politely(
                lambda: self._client.get(url, headers=sent),
                lambda r: (r.status_code, r.headers),
                max_wait=self._context.max_retry_wait,
            )
        except httpx.HTTPError as e:
            raise SourceError(f"Microsoft Graph cannot be reached ({type(e).__name__})") from None
        if response.status_code == 401:
            raise CredentialsError("Microsoft Graph refused the app's token (HTTP 401)")
        return response
