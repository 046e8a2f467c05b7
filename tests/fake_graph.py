"""A loopback Microsoft Graph for one drive: the client-credentials token endpoint, the drive's
delta feed (paged by ``@odata.nextLink``, ending in a ``@odata.deltaLink`` that returns only
later changes, or 410 once expired), and file content behind a redirect to a download address
that needs no token. Content can fail, or answer 429 with Retry-After first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.loopback import serve

TENANT, CLIENT_ID, SECRET = "contoso", "app-id", "app-secret"
DRIVE = "b!drive1"


@dataclass
class DriveFile:
    name: str
    folder: str
    content: str
    version: int = 1
    deleted: bool = False
    # None: inherited from the library; else the file's own grants (unique permissions).
    shared_with: list[dict[str, Any]] | None = None


@dataclass
class FakeGraph:
    files: dict[str, DriveFile] = field(default_factory=dict)
    secret: str = SECRET
    failing: set[str] = field(default_factory=set)
    throttled: dict[str, int] = field(default_factory=dict)
    delta_expired: bool = False
    changed_at: dict[str, int] = field(default_factory=dict)
    sequence: int = 0
    requests: list[tuple[str, int]] = field(default_factory=list)
    base: str = ""

    def change(self, item_id: str, **values: Any) -> None:
        """Change a file (or add it) and log the change for the delta feed."""
        self.sequence += 1
        if item_id in self.files:
            for name, value in values.items():
                setattr(self.files[item_id], name, value)
            if "content" in values:
                self.files[item_id].version += 1
        else:
            self.files[item_id] = DriveFile(**values)
        self.changed_at[item_id] = self.sequence

    def entry(self, item_id: str) -> dict[str, Any]:
        f = self.files[item_id]
        if f.deleted:
            return {"id": item_id, "deleted": {"state": "deleted"}}
        return {
            "id": item_id,
            "name": f.name,
            "file": {"mimeType": "text/markdown"},
            "cTag": f'"c:{{{item_id}}},{f.version}"',
            "eTag": f'"{{{item_id}}},{f.version}"',
            "webUrl": f"https://contoso.sharepoint.com/sites/hr/Shared%20Documents/{f.folder}/{f.name}",
            "parentReference": {"path": f"/drives/{DRIVE}/root:/{f.folder}"},
        }

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        assert form["grant_type"] == "client_credentials"
        assert form["scope"] == "https://graph.microsoft.com/.default"
        ok = request.match_info["tenant"] == TENANT and form["client_id"] == CLIENT_ID
        if not ok or form["client_secret"] != self.secret:
            self.requests.append(("token", 401))
            return web.json_response({"error": "invalid_client"}, status=401)
        self.requests.append(("token", 200))
        return web.json_response({"access_token": f"tok-{self.secret}", "expires_in": 3600})

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer tok-{self.secret}"

    async def delta(self, request: web.Request) -> web.Response:
        assert request.match_info["drive"] == DRIVE and self._authorised(request)
        assert request.headers["Prefer"] == "deltashowsharingchanges, hierarchicalsharing"
        since = request.query.get("token")
        if since is not None and self.delta_expired:
            self.delta_expired = False
            self.requests.append(("delta", 410))
            return web.json_response({"error": {"code": "resyncRequired"}}, status=410)
        self.requests.append(("delta", 200))
        if since is None:
            ids = [i for i, f in self.files.items() if not f.deleted]
        else:
            ids = [i for i, at in self.changed_at.items() if at > int(since)]
        page = int(request.query.get("page", 0))
        values = [self.entry(i) for i in ids[page * 2 : page * 2 + 2]]
        if page == 0 and since is None:
            values.insert(0, {"id": "root", "name": "root", "folder": {}, "root": {}})
        body: dict[str, Any] = {"value": values}
        delta = f"{self.base}/v1.0/drives/{DRIVE}/root/delta"
        if (page + 1) * 2 < len(ids):
            more = f"&token={since}" if since is not None else ""
            body["@odata.nextLink"] = f"{delta}?page={page + 1}{more}"
        else:
            body["@odata.deltaLink"] = f"{delta}?token={self.sequence}"
        return web.json_response(body)

    async def permissions(self, request: web.Request) -> web.Response:
        item_id = request.match_info["id"]
        assert self._authorised(request)
        self.requests.append((f"permissions:{item_id}", 200))
        own = self.files[item_id].shared_with
        if own is None:
            inherited = {
                "id": "i1",
                "roles": ["read"],
                "inheritedFrom": {"path": f"/drives/{DRIVE}/root:"},
                "grantedToV2": {"siteGroup": {"displayName": "HR Site Visitors"}},
            }
            return web.json_response({"value": [inherited]})
        return web.json_response({"value": own})

    async def content(self, request: web.Request) -> web.Response:
        item_id = request.match_info["id"]
        assert self._authorised(request)
        self.requests.append((f"content:{item_id}", 302))
        if item_id not in self.files or self.files[item_id].deleted:
            return web.json_response({"error": {"code": "itemNotFound"}}, status=404)
        raise web.HTTPFound(f"{self.base}/download/{item_id}?sig=signed")

    async def download(self, request: web.Request) -> web.Response:
        item_id = request.match_info["id"]
        assert "Authorization" not in request.headers, "the token went to the download address"
        if self.throttled.get(item_id):
            self.throttled[item_id] -= 1
            self.requests.append((f"download:{item_id}", 429))
            return web.Response(status=429, headers={"Retry-After": "0"})
        status = 500 if item_id in self.failing else 200
        self.requests.append((f"download:{item_id}", status))
        if status == 500:
            return web.Response(status=500)
        return web.Response(text=self.files[item_id].content, content_type="text/markdown")


@asynccontextmanager
async def fake_graph() -> AsyncIterator[FakeGraph]:
    fake = FakeGraph()
    app = web.Application()
    app.router.add_post("/{tenant}/oauth2/v2.0/token", fake.token)
    app.router.add_get("/v1.0/drives/{drive}/root/delta", fake.delta)
    app.router.add_get("/v1.0/drives/{drive}/items/{id}/content", fake.content)
    app.router.add_get("/v1.0/drives/{drive}/items/{id}/permissions", fake.permissions)
    app.router.add_get("/download/{id}", fake.download)
    async with serve(app) as base:
        fake.base = base
        yield fake
