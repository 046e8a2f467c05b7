"""Who someone is to the bot in Slack: an admin or not, and which scopes they may see.

Membership (the admin channel, user groups) is read from the Web API and kept for a few
minutes per process, so a busy channel does not spend Slack's rate limits on every question.
The admin channel's members are admins only while the channel is private and not shared with
another organisation or workspace: anyone can join a public channel, and a shared channel's
members include people of another company.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.platforms.access import PlatformAccess

log = logging.getLogger(__name__)

T = TypeVar("T")
MEMBERSHIP_TTL_SECONDS = 300.0


def channel_problem(info: dict[str, Any]) -> str | None:
    """Why the members of a channel (``conversations.info``'s ``channel``) may not be trusted
    as admins, or None."""
    if not info.get("is_private"):
        return "public"
    if info.get("is_ext_shared") or info.get("is_pending_ext_shared"):
        return "shared with another organisation (Slack Connect)"
    # is_org_shared is sharing among the workspaces of one Enterprise Grid organisation.
    if info.get("is_shared") and not info.get("is_org_shared"):
        return "shared with another workspace"
    return None


async def admin_channel_problem(client: AsyncWebClient, channel: str) -> str | None:
    """Why the members of ``channel`` are not admins, or None when they are."""
    try:
        response = await client.conversations_info(channel=channel)
    except SlackApiError as e:
        return f"unreadable ({e.response.get('error')})"
    return channel_problem(response.get("channel") or {})


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
        self._channel_warning: str | None = None

    async def is_admin(self, user_id: str) -> bool:
        """Listed in ``SLACK_ADMINS``, or a member of ``SLACK_ADMIN_CHANNEL`` while that channel
        is private and not shared."""
        if user_id in self._admins:
            return True
        if self._admin_channel is None:
            return False
        channel = self._admin_channel
        admins = await self._cached(f"channel:{channel}", lambda: self._channel_admins(channel))
        return user_id in admins

    async def _channel_admins(self, channel: str) -> frozenset[str]:
        response = await self._client.conversations_info(channel=channel)
        problem = channel_problem(response.get("channel") or {})
        if problem is None:
            self._channel_warning = None
            return await self._members(channel)
        if problem != self._channel_warning:
            log.warning(
                "SLACK_ADMIN_CHANNEL %s is %s: its members are not admins, only SLACK_ADMINS are",
                channel, problem,
            )  # fmt: skip
            self._channel_warning = problem
        return frozenset()

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
