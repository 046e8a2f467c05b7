"""Document owners in Slack: a member id (``U…``, ``W…``) as given, an e-mail address looked
up with ``users.lookupByEmail`` (scope ``users:read.email``)."""

from __future__ import annotations

import logging
import re

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.types import ReplyTo

log = logging.getLogger(__name__)

_MEMBER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SlackOwnerDirectory:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def find(self, owner: str) -> ReplyTo | None:
        owner = owner.strip()
        if _MEMBER_ID.match(owner):
            return ReplyTo("slack", {"user": owner, "private": True})
        if not _EMAIL.match(owner):
            return None
        try:
            response = await self._client.users_lookupByEmail(email=owner)
        except SlackApiError as e:
            error = e.response.get("error")
            if error != "users_not_found":
                log.warning("cannot look up a document owner in Slack: %s", error)
            return None
        user = (response.get("user") or {}).get("id")
        return ReplyTo("slack", {"user": str(user), "private": True}) if user else None


def slack_admin_destinations(admins: tuple[str, ...], admin_channel: str | None) -> list[ReplyTo]:
    """The admin channel when there is one, else each of ``SLACK_ADMINS`` directly."""
    if admin_channel:
        return [ReplyTo("slack", {"channel": admin_channel})]
    return [ReplyTo("slack", {"user": admin, "private": True}) for admin in admins]
