"""A Slack question message turned into the core's ``Question``: the asker's scopes, the
thread's earlier messages as history, and where a later answer goes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.types import Question, Turn
from bot.platforms.identity import user_hash
from bot.platforms.slack.directory import SlackDirectory
from bot.platforms.slack.errors import log_slack_error
from bot.platforms.slack.reporter import slack_thread

HISTORY_TURNS = 10
MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")


@dataclass(frozen=True)
class Incoming:
    """A question message, whichever event brought it."""

    team: str
    channel: str
    user: str
    ts: str
    thread_ts: str | None
    text: str
    private: bool
    # The delivery's key in the question ledger, and whether a replica that died with it
    # may have posted its answer already.
    key: str = ""
    maybe_posted: bool = False
    # Answered to the asker alone (``private: true`` channels), with a button to share it.
    ephemeral: bool = False


class SlackQuestions:
    def __init__(self, directory: SlackDirectory, user_hash_key: bytes | None) -> None:
        self._directory = directory
        self._user_hash_key = user_hash_key

    async def question(
        self, client: AsyncWebClient, incoming: Incoming, thread: str | None
    ) -> Question:
        """The core's question for ``incoming``, answered in ``thread``."""
        scopes = await self._directory.scopes_for(
            channel_id=incoming.channel, private=incoming.private, user_id=incoming.user
        )
        return Question(
            text=incoming.text,
            scopes=scopes,
            history=await self._history(client, incoming),
            asker=self.asker(incoming.team, incoming.user),
            platform="slack",
            # An admin's later answer goes under the question, wherever it was asked.
            reply_to=slack_thread(
                incoming.channel,
                thread or incoming.ts,
                user=incoming.user,
                private=incoming.private,
            ),
            private=incoming.private,
        )

    def asker(self, team: str, user: str) -> str:
        return user_hash("slack", f"{team}:{user}", self._user_hash_key)

    async def _history(self, client: AsyncWebClient, incoming: Incoming) -> tuple[Turn, ...]:
        """The thread's earlier messages, oldest first: the bot's as assistant turns."""
        if incoming.thread_ts is None:
            return ()
        try:
            response = await client.conversations_replies(
                channel=incoming.channel, ts=incoming.thread_ts, limit=100
            )
        except SlackApiError as e:
            log_slack_error("reading the thread", e)
            return ()
        turns = []
        for message in response.get("messages") or []:
            if float(message.get("ts", "0")) >= float(incoming.ts):
                continue
            text = MENTION.sub("", message.get("text", "")).strip()
            if text:
                turns.append(Turn("assistant" if message.get("bot_id") else "user", text))
        return tuple(turns[-HISTORY_TURNS:])
