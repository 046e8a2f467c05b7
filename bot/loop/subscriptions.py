"""Channels subscribed to changes of documents, kept in Postgres so every replica sees them."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.types import ReplyTo
from knowledge.database import GuardedConnection


@dataclass(frozen=True)
class Subscription:
    """A channel told of changes: ``channel`` its platform's id for it, ``reply_to`` where
    announcements are posted, ``scopes`` the documents it asked for (empty: every document
    the channel may see)."""

    platform: str
    channel: str
    reply_to: ReplyTo
    scopes: tuple[str, ...] = ()
    created_by: str | None = None


class PgSubscriptions:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def subscribe(self, subscription: Subscription) -> bool:
        """Subscribe a channel, or change what it is subscribed to; True when it is new.
        Raises ``DatabaseUnavailableError``."""
        async with GuardedConnection(self._engine, begin=True) as connection:
            inserted = await connection.scalar(
                text(
                    """
                    INSERT INTO change_subscriptions
                        (platform, channel, address, scopes, created_by)
                    VALUES (:platform, :channel, CAST(:address AS jsonb), :scopes, :created_by)
                    ON CONFLICT (platform, channel) DO UPDATE
                        SET address = EXCLUDED.address, scopes = EXCLUDED.scopes
                    RETURNING xmax = 0
                    """
                ),
                {
                    "platform": subscription.platform,
                    "channel": subscription.channel,
                    "address": json.dumps(dict(subscription.reply_to.address)),
                    "scopes": list(subscription.scopes),
                    "created_by": subscription.created_by,
                },
            )
        return bool(inserted)

    async def unsubscribe(self, platform: str, channel: str) -> bool:
        """Whether the channel was subscribed. Raises ``DatabaseUnavailableError``."""
        async with GuardedConnection(self._engine, begin=True) as connection:
            result = await connection.execute(
                text(
                    "DELETE FROM change_subscriptions WHERE platform = :platform "
                    "AND channel = :channel"
                ),
                {"platform": platform, "channel": channel},
            )
        return bool(result.rowcount)

    async def all(self) -> list[Subscription]:
        """Every subscription. Raises ``DatabaseUnavailableError``."""
        async with GuardedConnection(self._engine, begin=False) as connection:
            rows = await connection.execute(
                text(
                    "SELECT platform, channel, address, scopes, created_by "
                    "FROM change_subscriptions ORDER BY created_at"
                )
            )
            return [
                Subscription(
                    platform=row.platform,
                    channel=row.channel,
                    reply_to=ReplyTo(row.platform, row.address),
                    scopes=tuple(row.scopes),
                    created_by=row.created_by,
                )
                for row in rows
            ]
