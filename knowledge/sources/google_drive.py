"""A Google Drive folder (and its subfolders) as a source, over the Drive API v3.

Signs in as a service account (a JWT signed with its key, exchanged for an access token). The
listing walks the folder's files, page by page; a file's ``modifiedTime`` is its change marker.
Google Docs are exported as HTML; other files of the formats the loaders read are downloaded.
Trashed files and files moved out of the folder drop out of the listing and are removed.
Sharing maps to scopes: a file shared with anyone or a whole domain gets the source's scopes;
one shared only with people and groups gets the scopes the access file maps its groups (by
e-mail address) to, else the source's own scopes other than ``public``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

import httpx
import jwt

from knowledge.errors import LoadError
from knowledge.loading.sources import FORMATS_BY_EXTENSION, RawSource
from knowledge.sources.connector import ConnectorContext, CredentialsError, ItemGone, SourceError
from knowledge.sources.permissions import restricted_scopes
from knowledge.sources.retries import politely
from knowledge.sources.types import ItemContent, Listing, SourceItem

CREDENTIALS = ("google_service_account",)
API_URL = "https://www.googleapis.com/drive/v3"
FOLDER = "application/vnd.google-apps.folder"
GOOGLE_DOC = "application/vnd.google-apps.document"
_FIELDS = (
    "nextPageToken,files(id,name,mimeType,modifiedTime,webViewLink,permissions(type,emailAddress))"
)
_MAX_FOLDERS = 500


def google_drive_settings(options: Mapping[str, Any]) -> dict[str, Any]:
    """``folder`` (its id, from its link) and, for tests, ``api`` (the Drive API's base URL)."""
    folder = str(options.get("folder") or "")
    if not folder.replace("-", "").replace("_", "").isalnum():
        raise ValueError("a gdrive source needs --folder ID (the id in the folder's link)")
    settings = {"folder": folder}
    if options.get("api"):
        settings["api"] = str(options["api"]).rstrip("/")
    return settings


class GoogleDriveConnector:
    """The files under one Drive folder."""

    def __init__(self, settings: Mapping[str, Any], context: ConnectorContext) -> None:
        self._folder = str(settings["folder"])
        self._api = str(settings.get("api") or API_URL)
        self._context = context
        self._restricted = restricted_scopes(context.scopes)
        # Google spells group addresses as they were typed; the access file may not.
        self._groups = {group.lower(): scopes for group, scopes in context.groups.items()}
        self._client = httpx.AsyncClient(
            timeout=context.timeout, follow_redirects=False, trust_env=False
        )
        self._token = ""
        self._files: dict[str, Mapping[str, Any]] = {}

    async def aclose(self) -> None:
        await self._client.aclose()

    async def list_items(self, cursor: str | None) -> Listing:
        await self._sign_in()
        items: list[SourceItem] = []
        folders, seen = [self._folder], 0
        while folders and seen < _MAX_FOLDERS:
            folder, seen = folders.pop(0), seen + 1
            page_token = ""
            while True:
                params = {
                    "q": f"'{folder}' in parents and trashed = false",
                    "fields": _FIELDS,
                    "pageSize": "100",
                    "supportsAllDrives": "true",
                    "includeItemsFromAllDrives": "true",
                    **({"pageToken": page_token} if page_token else {}),
                }
                body = (await self._get("/files", params, "")).json()
                for entry in body.get("files", []):
                    if entry.get("mimeType") == FOLDER:
                        folders.append(str(entry["id"]))
                    elif _readable(entry):
                        self._files[str(entry["id"])] = entry
                        change = str(entry.get("modifiedTime", ""))
                        items.append(SourceItem(str(entry["id"]), change, self._scopes(entry)))
                page_token = str(body.get("nextPageToken") or "")
                if not page_token:
                    break
        return Listing(tuple(items))

    async def fetch(self, item: SourceItem, known_change: str | None) -> ItemContent | None:
        entry = self._files.get(item.id) or {}
        name, url = str(entry.get("name") or item.id), str(entry.get("webViewLink") or "")
        if entry.get("mimeType") == GOOGLE_DOC:
            response = await self._get(f"/files/{item.id}/export", {"mimeType": "text/html"}, name)
            data, fmt = response.content, "html"
        else:
            response = await self._get(f"/files/{item.id}", {"alt": "media"}, name)
            data, fmt = response.content, FORMATS_BY_EXTENSION[PurePosixPath(name).suffix.lower()]
        if len(data) > self._context.max_bytes:
            raise LoadError(name, "is over the size limit")
        return ItemContent(RawSource(name, data, fmt, url, url, fetched=True))

    def _scopes(self, entry: Mapping[str, Any]) -> tuple[str, ...] | None:
        permissions = entry.get("permissions") or []
        if not permissions or any(p.get("type") in ("anyone", "domain") for p in permissions):
            return None
        groups = [
            str(p.get("emailAddress", "")).lower() for p in permissions if p.get("type") == "group"
        ]
        mapped = {s for g in groups for s in self._groups.get(g, ())}
        return tuple(sorted(mapped)) if mapped else self._restricted

    async def _sign_in(self) -> None:
        raw = self._context.credentials.get("google_service_account")
        if not raw:
            raise CredentialsError("a gdrive source needs SUPPORTBOT_GOOGLE_SERVICE_ACCOUNT_FILE")
        try:
            account = json.loads(raw)
            now = int(time.time())
            assertion = jwt.encode(
                {
                    "iss": account["client_email"],
                    "scope": "https://www.googleapis.com/auth/drive.readonly",
                    "aud": account["token_uri"],
                    "iat": now,
                    "exp": now + 3600,
                },
                account["private_key"],
                algorithm="RS256",
            )
        except (ValueError, KeyError, TypeError, jwt.PyJWTError) as e:
            raise CredentialsError(
                "SUPPORTBOT_GOOGLE_SERVICE_ACCOUNT_FILE is not a service account key "
                f"({type(e).__name__})"
            ) from None
        try:
            response = await self._client.post(
                str(account["token_uri"]),
                data={
                    "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                    "assertion": assertion,
                },
            )
        except httpx.HTTPError as e:
            raise SourceError(f"cannot sign in to Google ({type(e).__name__})") from None
        if response.status_code != 200:
            raise CredentialsError(
                f"Google refused the service account (HTTP {response.status_code}): check "
                "SUPPORTBOT_GOOGLE_SERVICE_ACCOUNT_FILE"
            )
        self._token = str(response.json()["access_token"])

    async def _get(self, path: str, params: Mapping[str, str], item: str) -> httpx.Response:
        listing = not item
        try:
            response = await politely(
                lambda: self._client.get(
                    f"{self._api}{path}",
                    params=params,
                    headers={"Authorization": f"Bearer {self._token}"},
                ),
                lambda r: (r.status_code, r.headers),
                max_wait=self._context.max_retry_wait,
            )
        except httpx.HTTPError as e:
            reason = f"Google Drive cannot be reached ({type(e).__name__})"
            raise (SourceError(reason) if listing else LoadError(item, reason)) from None
        if response.status_code == 401:
            raise CredentialsError("Google Drive refused the access token (HTTP 401)")
        if response.status_code == 404 and not listing:
            raise ItemGone(item, "HTTP 404")
        if response.status_code != 200:
            reason = f"Google Drive answered HTTP {response.status_code}"
            raise SourceError(reason) if listing else LoadError(item, reason)
        return response


def _readable(entry: Mapping[str, Any]) -> bool:
    if entry.get("mimeType") == GOOGLE_DOC:
        return True
    return PurePosixPath(str(entry.get("name", ""))).suffix.lower() in FORMATS_BY_EXTENSION
