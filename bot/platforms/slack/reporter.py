"""Messages posted later in Slack: job reports to an admin, answers in an asker's thread.

A job report goes to the command's response URL, so it appears where the command was typed,
only to that admin. Slack honours a response URL for 30 minutes and five messages; after that
the report arrives as a direct message from the bot instead. A message for a question's
thread (``slack_thread``) is a reply in that thread; one for its asker alone
(``report_privately``) a direct message from the bot.
"""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.core.types import ReplyTo
from bot.platforms.delivery import Audience
from bot.platforms.slack.directory import SlackDirectory
from bot.platforms.slack.mrkdwn import to_mrkdwn

log = logging.getLogger(__name__)


def slack_reply_to(response_url: str, user_id: str) -> ReplyTo:
    return ReplyTo("slack", {"response_url": response_url, "user": user_id})


def slack_direct(channel: str, user_id: str) -> ReplyTo:
    """``user``'s direct-message ``channel`` with the bot (not a thread in it)."""
    return ReplyTo("slack", {"channel": channel, "user": user_id, "private": True})


def slack_thread(channel: str, thread_ts: str, *, user: str, private: bool) -> ReplyTo:
    """The thread of ``user``'s question in ``channel`` (``private``: their DM with the bot)."""
    return ReplyTo(
        "slack", {"channel": channel, "thread_ts": thread_ts, "user": user, "private": private}
    )


class SlackReporter:
    def __init__(self, client: AsyncWebClient, directory: SlackDirectory) -> None:
        self._client = client
        self._directory = directory

    async def report(self, reply_to: ReplyTo, markdown: str) -> None:
        text = to_mrkdwn(markdown)
        channel = reply_to.address.get("channel")
        if channel:
            await self._post(channel, text, reply_to.address.get("thread_ts"))
            return
        url = reply_to.address.get("response_url")
        if url:
            try:
                response = await AsyncWebhookClient(url).send(
                    text=text, response_type="ephemeral", replace_original=False
                )
                if response.status_code == 200:
                    return
                log.info("response URL refused a job report (HTTP %s)", response.status_code)
            except (aiohttp.ClientError, OSError) as e:
                log.info("response URL unreachable for a job report: %s", e)
        await self.report_privately(reply_to, markdown)

    async def report_privately(self, reply_to: ReplyTo, markdown: str) -> None:
        user = reply_to.address.get("user")
        if user:
            await self._post(user, to_mrkdwn(markdown))
        else:
            log.warning("a message for one person has no one to go to; not sent")

    async def audience(self, reply_to: ReplyTo) -> Audience:
        user = str(reply_to.address.get("user") or "")
        channel = str(reply_to.address.get("channel") or "")
        if not user:  # a thread queued before askers were kept: only what everyone sees
            return Audience()
        person = await self._directory.scopes_for(channel_id=channel, private=True, user_id=user)
        if reply_to.address.get("private", True):
            return Audience(person, person)
        shared = await self._directory.scopes_for(channel_id=channel, private=False, user_id=user)
        return Audience(shared, person)

    async def _post(self, channel: str, text: str, thread_ts: str | None = None) -> None:
        try:
            await self._client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, text=text, unfurl_links=False
            )
        except SlackApiError as e:
            log.warning("cannot post to %s: %s", channel, e.response.get("error"))
