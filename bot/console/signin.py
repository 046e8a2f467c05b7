"""Signing in to the console: one-time links and the sessions they open, kept in Redis.

A link carries a random token; Redis keeps only its SHA-256 hash, for ``LINK_SECONDS``, and
``GETDEL`` consumes it atomically, so two replicas following the same link cannot both open a
session. A session is a second random token (the cookie) whose hash maps to the admin and the
session's CSRF token, for ``SESSION_SECONDS``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from urllib.parse import quote

import redis.asyncio

log = logging.getLogger(__name__)

LINK_SECONDS = 600
SESSION_SECONDS = 8 * 3600
SIGN_IN_PATH = "/admin/sign-in"


@dataclass(frozen=True)
class ConsoleSession:
    """Who is signed in, and the token every form of this session must carry."""

    admin: str
    csrf_token: str

    def csrf_ok(self, submitted: str | None) -> bool:
        return submitted is not None and hmac.compare_digest(submitted, self.csrf_token)


class RedisConsoleSignIn:
    """Issues and redeems one-time links, and opens and looks up sessions."""

    def __init__(self, client: redis.asyncio.Redis, namespace: str) -> None:
        self._redis = client
        self._namespace = namespace

    async def issue_link(self, admin: str, public_url: str) -> str:
        """A sign-in link for ``admin`` valid ``LINK_SECONDS``; the caller checked they are
        an admin."""
        token = secrets.token_urlsafe(32)
        await self._redis.set(self._key("link", token), admin, ex=LINK_SECONDS)
        log.info("console sign-in link issued to %s", admin)
        return f"{public_url.rstrip('/')}{SIGN_IN_PATH}?token={quote(token)}"

    async def redeem(self, token: str) -> str | None:
        """The admin the link was issued to, once; None for a forged, expired or used link."""
        if not token:
            return None
        admin = await self._redis.getdel(self._key("link", token))
        return admin.decode() if isinstance(admin, bytes) else admin

    async def open_session(self, admin: str) -> str:
        """A new session for ``admin``; returns the cookie's value."""
        session_id = secrets.token_urlsafe(32)
        record = json.dumps({"admin": admin, "csrf": secrets.token_urlsafe(32)})
        await self._redis.set(self._key("session", session_id), record, ex=SESSION_SECONDS)
        log.info("console session opened for %s", admin)
        return session_id

    async def session(self, session_id: str | None) -> ConsoleSession | None:
        """The session behind a cookie, while it lasts."""
        if not session_id:
            return None
        raw = await self._redis.get(self._key("session", session_id))
        if raw is None:
            return None
        record = json.loads(raw)
        return ConsoleSession(admin=record["admin"], csrf_token=record["csrf"])

    async def close_session(self, session_id: str) -> None:
        await self._redis.delete(self._key("session", session_id))

    def _key(self, kind: str, token: str) -> str:
        digest = hashlib.sha256(token.encode()).hexdigest()
        return f"{self._namespace}:console:{kind}:{digest}"
