"""``/kb subscribe [#channel] [scope ...]`` in Slack: which channel is meant, and where its
announcements go (the channel itself, not a thread)."""

from __future__ import annotations

import re
from typing import Any

from bot.core.types import ReplyTo
from bot.loop.subscriptions import Subscription
from bot.platforms import subscription_messages as messages
from bot.platforms.subscription_commands import SubscriptionAdmin, SubscriptionCommand

# With escaping on, Slack sends a channel picked from its suggestions as <#C123|name>.
_ESCAPED = re.compile(r"^<#([A-Z0-9]+)(?:\|([^>]*))?>$")


async def run_slack_subscription(
    admin: SubscriptionAdmin, command: SubscriptionCommand, payload: dict[str, Any]
) -> str:
    """Run ``command`` from the slash command ``payload``; the Markdown reply for the admin."""
    here, here_name = str(payload.get("channel_id") or ""), str(payload.get("channel_name") or "")
    typed = command.channel
    if typed is None:
        channel, name = here, here_name
    elif match := _ESCAPED.match(typed):
        channel, name = match.group(1), match.group(2) or here_name
    elif typed.lstrip("#") == here_name:
        # Unescaped, a channel is only its name; the one the command is typed in is known.
        channel, name = here, here_name
    else:
        return messages.channel_unknown(typed)
    if not channel or channel.startswith("D") or (here_name == "directmessage" and channel == here):
        return messages.not_in_a_channel()
    reply_to = ReplyTo(
        "slack", {"channel": channel, "user": str(payload.get("user_id")), "private": False}
    )
    subscription = Subscription(
        "slack", channel, reply_to, command.scopes, created_by=str(payload.get("user_id"))
    )
    return await admin.run(command, subscription, f"#{name}" if name else "That channel")
