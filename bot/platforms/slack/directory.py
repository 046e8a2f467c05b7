"""Who someone is to the bot in Slack: an admin or not, and which scopes they may see.

Membership (the admin channel, user groups) is read from the Web API and kept for a few
minutes per process, so a busy channel does not spend Slack's rate limits on every question.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.platforms.access import PlatformAccess

log = logging.getLogger(__name__)

T = TypeVar("T")
MEMBERSHIP_TTL_SECONDS = 300.0


class SlackDirectory:
    def __init__(
        self,
        client: AsyncWebClient,
        *,
        access: PlatformAccess,
        admins: tuple[str, ...] = (),
        admin_channel: str | None = None,
        ttl_seconds: float = MEMBERSHIP_TTL_SECONDS,
    ) -> None:
        self._client = client
        self._access = access
        self._admins = frozenset(admins)
        self._admin_channel = admin_channel
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    async def is_admin(self, user_id: str) -> bool:
        """Listed in ``SLACK_ADMINS``, or a member of ``SLACK_ADMIN_CHANNEL``."""
        if user_id in self._admins:
            return True
        if self._admin_channel is None:
            return False
        channel = self._admin_channel
        return user_id in await self._cached(f"channel:{channel}", lambda: self._members(channel))

    async def scopes_for(self, *, channel_id: str, private: bool, user_id: str) -> tuple[str, ...]:
        """A shared channel sees what the channel may see; a DM sees what its person may see."""
        if not private:
            return self._access.channel_scopes(channel_id)
        groups = [g for g in self._access.groups if await self._in_group(g, user_id)]
        return self._access.person_scopes(user_id, groups)

    async def _in_group(self, group_id: str, user_id: str) -> bool:
        return user_id in await self._cached(f"group:{group_id}", lambda: self._group(group_id))

    async def _members(self, channel: str) -> frozenset[str]:
        members: set[str] = set()
        cursor = None
        while True:
            page = await self._client.conversations_members(
                channel=channel, cursor=cursor, limit=500
            )
            members.update(page.get("members") or [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return frozenset(members)

    async def _group(self, group_id: str) -> frozenset[str]:
        response = await self._client.usergroups_users_list(usergroup=group_id)
        return frozenset(response.get("users") or [])

    async def _cached(
        self, key: str, fetch: Callable[[], Awaitable[frozenset[str]]]
    ) -> frozenset[str]:
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            value = await fetch()
        except SlackApiError as e:
            # Fail closed (no admin rights, no extra scopes) but keep a stale answer if we have one.
            log.warning("cannot read %s from Slack: %s", key, e.response.get("error"))
            return hit[1] if hit is not None else frozenset()
        self._cache[key] = (now + self._ttl, value)
        return value
