"""What admins change from Slack: ``/kb`` commands, and files sent to the bot in a DM to be
added to the knowledge base."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.console.links import ConsoleLinks
from bot.loop.subscriptions import PgSubscriptions
from bot.platforms import admin_messages, messages
from bot.platforms.admin import (
    QUEUED,
    AdminCommandError,
    KnowledgeAdmin,
    parse_admin_command,
)
from bot.platforms.slack.curation import SlackCuration
from bot.platforms.slack.directory import SlackDirectory
from bot.platforms.slack.errors import log_slack_error
from bot.platforms.slack.mrkdwn import to_mrkdwn
from bot.platforms.slack.reporter import slack_direct, slack_reply_to
from bot.platforms.slack.subscriptions import run_slack_subscription
from bot.platforms.subscription_commands import SubscriptionAdmin, parse_subscription_command
from bot.service.uploads import Upload, upload_key
from knowledge.errors import LoadError


class SlackAdminCommands:
    def __init__(
        self,
        *,
        admin: KnowledgeAdmin,
        directory: SlackDirectory,
        curation: SlackCuration,
        max_upload_bytes: int,
        file_hosts: frozenset[str | None],
        console: ConsoleLinks | None = None,
    ) -> None:
        self._console = console
        self._admin = admin
        self._directory = directory
        self._curation = curation
        self._max_upload_bytes = max_upload_bytes
        self._file_hosts = file_hosts
        engine = admin.knowledge_base.engine
        self._subscriptions = SubscriptionAdmin(PgSubscriptions(engine))

    def register(self, app: AsyncApp) -> None:
        app.command("/kb")(self.on_kb_command)

    async def on_kb_command(
        self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        if not await self._directory.is_admin(command["user_id"]):
            await respond(text=admin_messages.admin_refusal(), response_type="ephemeral")
            return
        try:
            subscription = parse_subscription_command(command.get("text", ""))
            if subscription is not None:
                reply = await run_slack_subscription(self._subscriptions, subscription, command)
                await respond(text=to_mrkdwn(reply), response_type="ephemeral")
                return
            parsed = parse_admin_command(command.get("text", ""))
        except AdminCommandError as e:
            await respond(text=to_mrkdwn(str(e)), response_type="ephemeral")
            return
        if parsed.action == "gaps":
            await self._curation.show_gaps(respond)
            return
        if parsed.action == "console" and self._console is not None:
            # Ephemeral: only the admin who asked sees the link.
            link = await self._console.message_for(command["user_id"])
            await respond(text=link, response_type="ephemeral", replace_original=False)
            return
        if parsed.action in QUEUED:
            reply_to = slack_reply_to(command.get("response_url", ""), command["user_id"])
            reply = await self._admin.queue(parsed, reply_to)
        else:
            reply = await self._admin.run(parsed)
        await respond(text=to_mrkdwn(reply), response_type="ephemeral", replace_original=False)

    async def ingest_files(self, client: AsyncWebClient, event: dict[str, Any]) -> None:
        channel, user = event["channel"], event["user"]
        if not await self._directory.is_admin(user):
            await self._post_quietly(client, channel, messages.upload_refused())
            return
        reply_to = slack_direct(channel, user)
        for file in event["files"]:
            name = file.get("name") or file.get("title") or "upload"
            try:
                data = await self._download(client, file)
            except LoadError as e:
                await self._post_quietly(client, channel, messages.upload_failed(name, e.reason))
                continue
            link = file.get("permalink") or file.get("url_private", "")
            upload = Upload(upload_key("slack", file.get("id") or link, data), name, link, data)
            reply = await self._admin.queue_upload(upload, reply_to)
            await self._post_quietly(client, channel, to_mrkdwn(reply))

    async def _download(self, client: AsyncWebClient, file: dict[str, Any]) -> bytes:
        name = file.get("name") or "upload"
        too_large = LoadError(name, messages.upload_too_large(self._max_upload_bytes))
        if int(file.get("size") or 0) > self._max_upload_bytes:
            raise too_large
        url = file.get("url_private_download") or file.get("url_private") or ""
        # The bot token goes only to Slack's own file hosts, never to a URL someone typed.
        if urlsplit(url).hostname not in self._file_hosts:
            raise LoadError(name, "is not a file hosted by Slack")
        headers = {"Authorization": f"Bearer {client.token}"}
        try:
            async with httpx.AsyncClient(timeout=30, follow_redirects=False) as http:
                response = await http.get(url, headers=headers)
        except httpx.HTTPError as e:
            raise LoadError(name, f"could not be downloaded ({e.__class__.__name__})") from e
        if response.status_code != 200:
            raise LoadError(name, f"could not be downloaded (HTTP {response.status_code})")
        if len(response.content) > self._max_upload_bytes:
            raise too_large
        return response.content

    async def _post_quietly(self, client: AsyncWebClient, channel: str, text: str) -> None:
        try:
            await client.chat_postMessage(channel=channel, text=text, unfurl_links=False)
        except SlackApiError as e:
            log_slack_error("posting a reply", e)
