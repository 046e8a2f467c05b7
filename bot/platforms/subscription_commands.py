"""``kb subscribe [#channel] [scope ...]`` and ``kb unsubscribe [#channel]``: which channels
hear of changes of documents. Platform-neutral: each adapter tells which channel is meant
(``#channel`` in Slack; in Teams the channel the command is typed in) and where to post."""

from __future__ import annotations

from dataclasses import dataclass

from bot.loop.subscriptions import PgSubscriptions, Subscription
from bot.platforms import subscription_messages as messages
from bot.platforms.admin import AdminCommandError, parse_scopes
from bot.platforms.admin_messages import admin_failed
from knowledge.errors import KnowledgeError


@dataclass(frozen=True)
class SubscriptionCommand:
    """``channel`` as typed (None: the one the command was typed in)."""

    subscribe: bool
    channel: str | None
    scopes: tuple[str, ...] = ()


def parse_subscription_command(text: str, prefix: str = "/kb") -> SubscriptionCommand | None:
    """The command, or None when ``text`` is another ``kb`` command. Raises
    ``AdminCommandError`` for a bad scope or anything else after ``unsubscribe``'s channel."""
    words = text.split()
    if not words or words[0].lower() not in ("subscribe", "unsubscribe"):
        return None
    rest = words[1:]
    channel = rest.pop(0) if rest and rest[0].startswith(("#", "<#")) else None
    if words[0].lower() == "unsubscribe":
        if rest:
            raise AdminCommandError(messages.usage(prefix))
        return SubscriptionCommand(False, channel)
    return SubscriptionCommand(True, channel, parse_scopes(rest))


class SubscriptionAdmin:
    """Runs subscription commands; every reply is one Markdown message."""

    def __init__(self, subscriptions: PgSubscriptions) -> None:
        self._subscriptions = subscriptions

    async def run(self, command: SubscriptionCommand, subscription: Subscription, name: str) -> str:
        """Apply ``command`` to the channel of ``subscription``, shown to the admin as
        ``name``."""
        try:
            if command.subscribe:
                new = await self._subscriptions.subscribe(subscription)
                return messages.subscribed(name, subscription.scopes, new=new)
            was = await self._subscriptions.unsubscribe(subscription.platform, subscription.channel)
            return messages.unsubscribed(name, was=was)
        except KnowledgeError as e:
            return admin_failed(str(e))
