"""Change announcements: each change of a document, posted once in every channel subscribed
to it that may see the document (as the access rules say at that moment), with a two-sentence
summary of the difference when a chat model is configured.

A channel the bot can no longer post in (it was removed) is the reporter's to log; the
subscription stays, so it works again once the bot is added back.
"""

from __future__ import annotations

from bot.loop import change_messages as messages
from bot.loop.change_summary import ChangeSummarizer
from bot.loop.subscriptions import PgSubscriptions, Subscription
from bot.platforms.delivery import AskerReporter
from knowledge.announcements import DocumentChange
from knowledge.types import visible


class ChangeAnnouncer:
    """Posts what changed in a document to the channels subscribed to it."""

    def __init__(
        self,
        subscriptions: PgSubscriptions,
        reporter: AskerReporter,
        summarizer: ChangeSummarizer | None = None,
    ) -> None:
        self._subscriptions = subscriptions
        self._reporter = reporter
        self._summarizer = summarizer

    async def announce(self, change: DocumentChange) -> int:
        """Post ``change`` to every subscribed channel that may see it; returns how many.
        Raises ``DatabaseUnavailableError``."""
        wanting = [s for s in await self._subscriptions.all() if await self._wants(s, change)]
        if not wanting:
            return 0  # and no summary is paid for
        new = change.number == 1
        summary = await self._summarizer.summarize(change) if self._summarizer and not new else None
        text = messages.change_announcement(
            change.title,
            change.url,
            added=change.added,
            changed=change.changed,
            removed=change.removed,
            summary=summary,
            new=new,
        )
        for subscription in wanting:
            await self._reporter.report(subscription.reply_to, text)
        return len(wanting)

    async def _wants(self, subscription: Subscription, change: DocumentChange) -> bool:
        audience = await self._reporter.audience(subscription.reply_to)
        if not visible(change.scopes, audience.conversation):
            return False
        return not subscription.scopes or not set(subscription.scopes).isdisjoint(change.scopes)
