"""``kb subscribe [scope ...]`` typed in a Teams channel (mentioning the bot): that channel
hears of changes, in new posts of its own rather than in the command's reply chain."""

from __future__ import annotations

from typing import Any

from botbuilder.core import TurnContext

from bot.core.types import ReplyTo
from bot.loop.subscriptions import Subscription
from bot.platforms import subscription_messages as messages
from bot.platforms.subscription_commands import SubscriptionAdmin, SubscriptionCommand
from bot.platforms.teams.activity import base_conversation, is_personal, user_id
from bot.platforms.teams.reporter import teams_reply_to


async def run_teams_subscription(
    admin: SubscriptionAdmin, command: SubscriptionCommand, context: TurnContext, prefix: str
) -> str:
    """Run ``command`` for the channel ``context`` is in; the Markdown reply for the admin."""
    activity = context.activity
    if is_personal(activity):
        return messages.not_in_a_channel()
    if command.channel is not None:
        return messages.usage(prefix)
    channel = base_conversation(activity.conversation.id)
    address: dict[str, Any] = dict(teams_reply_to(activity).address)
    reference = dict(address["reference"])
    reference["conversation"] = {**(reference.get("conversation") or {}), "id": channel}
    reference.pop("activityId", None)
    address["reference"] = reference
    subscription = Subscription(
        "teams", channel, ReplyTo("teams", address), command.scopes, user_id(activity)
    )
    name = (activity.channel_data or {}).get("channel", {}).get("name") or "This channel"
    return await admin.run(command, subscription, str(name))
