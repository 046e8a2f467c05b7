"""A loopback Google Drive API v3 with its OAuth token endpoint: a service account's signed
JWT exchanged for a token, a folder's children listed page by page (subfolders too), Google
Docs exported as HTML, other files downloaded with ``alt=media``, permissions per file, a file
that fails and one that answers 429 with Retry-After first."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.loopback import serve

ROOT = "rootFolder1"
ACCOUNT = "sync@project.iam.gserviceaccount.com"
DOC = "application/vnd.google-apps.document"
FOLDER = "application/vnd.google-apps.folder"


@dataclass
class DriveEntry:
    name: str
    parent: str
    mime: str = "text/markdown"
    content: str = ""
    modified: str = "2026-12-01T10:00:00.000Z"
    trashed: bool = False
    shared_with: list[dict[str, str]] = field(default_factory=lambda: [{"type": "anyone"}])


@dataclass
class FakeDrive:
    entries: dict[str, DriveEntry] = field(default_factory=dict)
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    revoked: bool = False
    failing: set[str] = field(default_factory=set)
    throttled: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, int]] = field(default_factory=list)
    base: str = ""

    def service_account(self) -> str:
        """The JSON key file's text, as SUPPORTBOT_GOOGLE_SERVICE_ACCOUNT_FILE holds it."""
        pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return json.dumps(
            {
                "type": "service_account",
                "client_email": ACCOUNT,
                "private_key": pem,
                "token_uri": f"{self.base}/token",
            }
        )

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
        claims = jwt.decode(
            str(form["assertion"]),
            self.key.public_key(),
            algorithms=["RS256"],
            audience=f"{self.base}/token",
        )
        assert claims["iss"] == ACCOUNT
        assert claims["scope"] == "https://www.googleapis.com/auth/drive.readonly"
        status = 400 if self.revoked else 200
        self.requests.append(("token", status))
        if self.revoked:
            return web.json_response({"error": "invalid_grant"}, status=400)
        return web.json_response({"access_token": "drive-token", "expires_in": 3600})

    async def files(self, request: web.Request) -> web.Response:
        assert request.headers["Authorization"] == "Bearer drive-token"
        query = request.query["q"]
        parent = query.split("'")[1]
        assert query == f"'{parent}' in parents and trashed = false"
        children = [
            self._entry(i, e)
            for i, e in self.entries.items()
            if e.parent == parent and not e.trashed
        ]
        start = int(request.query.get("pageToken") or 0)
        body: dict[str, Any] = {"files": children[start : start + 2]}
        if start + 2 < len(children):
            body["nextPageToken"] = str(start + 2)
        self.requests.append((f"list:{parent}", 200))
        return web.json_response(body)

    async def export(self, request: web.Request) -> web.Response:
        file_id = request.match_info["id"]
        assert request.query["mimeType"] == "text/html"
        return self._content(file_id, "export", "text/html")

    async def media(self, request: web.Request) -> web.Response:
        file_id = request.match_info["id"]
        assert request.query["alt"] == "media"
        return self._content(file_id, "media", "text/markdown")

    def _content(self, file_id: str, how: str, media_type: str) -> web.Response:
        status = 200
        if self.throttled.get(file_id):
            self.throttled[file_id] -= 1
            status = 429
        elif file_id in self.failing:
            status = 500
        elif file_id not in self.entries:
            status = 404
        self.requests.append((f"{how}:{file_id}", status))
        if status != 200:
            return web.Response(status=status, headers={"Retry-After": "0"})
        return web.Response(text=self.entries[file_id].content, content_type=media_type)

    def _entry(self, file_id: str, entry: DriveEntry) -> dict[str, Any]:
        return {
            "id": file_id,
            "name": entry.name,
            "mimeType": entry.mime,
            "modifiedTime": entry.modified,
            "webViewLink": f"https://docs.google.com/d/{file_id}/view",
            "permissions": entry.shared_with,
        }


@asynccontextmanager
async def fake_drive() -> AsyncIterator[FakeDrive]:
    fake = FakeDrive()
    app = web.Application()
    app.router.add_post("/token", fake.token)
    app.router.add_get("/drive/v3/files", fake.files)
    app.router.add_get("/drive/v3/files/{id}/export", fake.export)
    app.router.add_get("/drive/v3/files/{id}", fake.media)
    async with serve(app) as base:
        fake.base = base
        yield fake
