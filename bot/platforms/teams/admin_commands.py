"""What admins change from Teams, in a personal chat with the bot: ``kb`` commands (``kb gaps``
among them) and files sent to be added to the knowledge base."""

from __future__ import annotations

from typing import Any

from botbuilder.core import TurnContext

from bot.console.links import ConsoleLinks
from bot.loop.curation import Curator
from bot.loop.subscriptions import PgSubscriptions
from bot.platforms import admin_messages, messages
from bot.platforms.admin import (
    QUEUED,
    AdminCommandError,
    KnowledgeAdmin,
    parse_admin_command,
)
from bot.platforms.subscription_commands import SubscriptionAdmin, parse_subscription_command
from bot.platforms.teams.activity import user_id
from bot.platforms.teams.cards import GAPS_SHOWN, gap_list_activity
from bot.platforms.teams.connector import send, send_text, send_typing
from bot.platforms.teams.reporter import teams_reply_to
from bot.platforms.teams.subscriptions import run_teams_subscription
from bot.service.uploads import Upload, upload_key
from knowledge.errors import DatabaseUnavailableError, LoadError
from knowledge.loading.guarded_fetch import FetchRefused

ADMIN_COMMAND = "kb"
FILE_DOWNLOAD = "application/vnd.microsoft.teams.file.download.info"


def admin_command(text: str) -> str | None:
    """The command after a leading ``kb`` (any case), or None when the text is not one."""
    first, _, rest = text.partition(" ")
    return rest.strip() if first.lower() == ADMIN_COMMAND else None


class TeamsAdminCommands:
    def __init__(
        self,
        *,
        admin: KnowledgeAdmin,
        curator: Curator,
        admins: frozenset[str],
        max_upload_bytes: int,
        console: ConsoleLinks | None = None,
    ) -> None:
        self._console = console
        self._admin = admin
        self._curator = curator
        self._admins = admins
        self._max_upload_bytes = max_upload_bytes
        engine = admin.knowledge_base.engine
        self._subscriptions = SubscriptionAdmin(PgSubscriptions(engine))

    async def on_command(self, context: TurnContext, command: str, personal: bool) -> None:
        try:
            subscription = parse_subscription_command(command, ADMIN_COMMAND)
        except AdminCommandError as e:
            await send_text(context, str(e))
            return
        if subscription is not None:
            reply = (
                await run_teams_subscription(
                    self._subscriptions, subscription, context, ADMIN_COMMAND
                )
                if user_id(context.activity) in self._admins
                else admin_messages.admin_refusal()
            )
            await send_text(context, reply)
            return
        if not personal:
            await send_text(context, messages.teams_admin_in_personal_chat())
            return
        if user_id(context.activity) not in self._admins:
            await send_text(context, admin_messages.admin_refusal())
            return
        try:
            parsed = parse_admin_command(command)
        except AdminCommandError as e:
            await send_text(context, str(e))
            return
        if parsed.action == "help":
            await send_text(context, admin_messages.admin_help(ADMIN_COMMAND))
            return
        if parsed.action == "gaps":
            await self._show_gaps(context)
            return
        if parsed.action == "console" and self._console is not None:
            # Admin commands run in a personal chat only (above): the link stays private.
            await send_text(context, await self._console.message_for(user_id(context.activity)))
            return
        if parsed.action in QUEUED:
            reply = await self._admin.queue(parsed, teams_reply_to(context.activity))
        else:
            reply = await self._admin.run(parsed)
        await send_text(context, reply)

    async def ingest_files(self, context: TurnContext, files: list[Any]) -> None:
        if user_id(context.activity) not in self._admins:
            await send_text(context, messages.upload_refused())
            return
        await send_typing(context)
        reply_to = teams_reply_to(context.activity)
        for file in files:
            name = file.name or "upload"
            content = file.content or {}
            try:
                data = await self._download(name, content.get("downloadUrl", ""))
            except FetchRefused as e:
                refused = (
                    messages.upload_failed(name, messages.upload_too_large(self._max_upload_bytes))
                    if e.too_large
                    else messages.upload_not_downloaded(name)
                )
                await send_text(context, refused)
                continue
            except LoadError as e:
                await send_text(context, messages.upload_failed(name, e.reason))
                continue
            key = content.get("uniqueId") or file.content_url or content.get("downloadUrl", "")
            upload = Upload(upload_key("teams", key, data), name, file.content_url or "", data)
            await send_text(context, await self._admin.queue_upload(upload, reply_to))

    async def _download(self, name: str, url: str) -> bytes:
        if not url.startswith(("https://", "http://")):
            raise LoadError(name, "has no download link")
        # Teams' download links are pre-authorised: no credentials are sent with them. The link
        # comes in the activity, so it is fetched like any link typed in chat: guarded.
        data = await self._admin.download(url)
        if len(data) > self._max_upload_bytes:
            raise LoadError(name, messages.upload_too_large(self._max_upload_bytes))
        return data

    async def _show_gaps(self, context: TurnContext) -> None:
        try:
            gaps, total = await self._curator.open_gaps(GAPS_SHOWN)
        except DatabaseUnavailableError as e:
            await send_text(context, admin_messages.admin_failed(str(e)))
            return
        await send(context, gap_list_activity(gaps, total), doing="listing gaps")
