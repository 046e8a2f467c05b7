"""The botbuilder side of Teams: Bot Framework authentication, the adapter and the bot.

With ``MICROSOFT_APP_ID`` set, botbuilder checks every request's Bot Framework token and
signs outgoing calls with the app's credentials. Without it there is no Teams endpoint, unless
``TEAMS_ALLOW_UNAUTHENTICATED`` asks for one for local development (the Bot Framework
Emulator): its requests are not authenticated at all, so ``gate.py`` takes them only directly
from loopback.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botframework.connector.auth import BotFrameworkAuthentication

from bot.console.links import ConsoleLinks
from bot.console.signin import RedisConsoleSignIn
from bot.loop.feedback import PgFeedbackStore
from bot.platforms import messages
from bot.platforms.admin import KnowledgeAdmin
from bot.platforms.memory import RedisConversationMemory
from bot.platforms.teams.answer_ids import RedisAnswerIds
from bot.platforms.teams.connector import send_text
from bot.platforms.teams.handler import TeamsBot, TeamsOptions
from bot.platforms.teams.owners import TeamsOwnerDirectory, teams_person
from bot.platforms.teams.reporter import TeamsReporter
from bot.service.components import Core
from bot.service.markers import RedisMarkers
from bot.service.settings import Settings, SettingsError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TeamsEndpoint:
    """What ``/api/messages`` needs: the adapter, the bot, whether requests are signed, and
    the tenants activities may come from (any when empty)."""

    adapter: CloudAdapter
    bot: TeamsBot
    authenticated: bool
    allowed_tenants: frozenset[str] = frozenset()


class BotFrameworkConfiguration:
    """The attribute names ``ConfigurationBotFrameworkAuthentication`` reads its settings from."""

    def __init__(self, settings: Settings) -> None:
        self.APP_ID = settings.teams_app_id or ""
        self.APP_PASSWORD = (
            settings.teams_app_password.reveal() if settings.teams_app_password else ""
        )
        self.APP_TYPE = settings.teams_app_type
        self.APP_TENANTID = settings.teams_tenant_id or ""


def build_teams_endpoint(
    settings: Settings, core: Core, *, authentication: BotFrameworkAuthentication | None = None
) -> TeamsEndpoint:
    """The Teams bot on ``core``. ``authentication`` replaces the Bot Framework's public cloud
    (tests pass one that trusts a loopback token issuer)."""
    if not settings.teams_enabled:
        raise SettingsError(
            "Teams needs MICROSOFT_APP_ID (or TEAMS_ALLOW_UNAUTHENTICATED=1 for local development)"
        )
    adapter = CloudAdapter(
        authentication
        or ConfigurationBotFrameworkAuthentication(BotFrameworkConfiguration(settings))
    )
    adapter.on_turn_error = _on_turn_error
    bot = TeamsBot(
        answers=core.answers,
        admin=KnowledgeAdmin(core.kb, core.jobs, core.sources, core.source_jobs, core.uploads),
        feedback=PgFeedbackStore(core.kb.engine),
        markers=RedisMarkers(core.redis, settings.redis_namespace),
        ledger=core.questions,
        memory=RedisConversationMemory(core.redis, settings.redis_namespace),
        answer_ids=RedisAnswerIds(core.redis, settings.redis_namespace),
        work=core.work,
        access=settings.access.teams,
        curator=core.curator,
        options=TeamsOptions(
            app_id=settings.teams_app_id or "",
            admins=frozenset(settings.teams_admins),
            escalation_channel=settings.teams_escalation_channel,
            escalation_user=settings.teams_escalation_user,
            contact=settings.contact,
            user_hash_key=core.user_hash_key,
            max_upload_bytes=settings.max_document_bytes,
            reply_within_seconds=settings.teams_reply_within_seconds,
            streaming=settings.chat_model is not None,
            console=ConsoleLinks(
                RedisConsoleSignIn(core.redis, settings.redis_namespace), settings.public_url
            ),
        ),
    )
    core.questions.register("teams", bot.resumer(adapter))
    core.reporters.register(
        "teams", TeamsReporter(adapter, settings.teams_app_id or "", settings.access.teams)
    )
    if settings.teams_service_url:
        _register_people(settings, core, settings.teams_service_url)
    return TeamsEndpoint(
        adapter=adapter,
        bot=bot,
        authenticated=settings.teams_authenticated,
        allowed_tenants=frozenset(settings.teams_allowed_tenants),
    )


def _register_people(settings: Settings, core: Core, service_url: str) -> None:
    """Owners and admins in Teams, reached in new personal chats through ``service_url``."""
    app_id = settings.teams_app_id or ""
    tenant = settings.teams_tenant_id or next(iter(settings.teams_allowed_tenants), None)
    people = TeamsOwnerDirectory(app_id=app_id, service_url=service_url, tenant=tenant)
    admins = [
        teams_person(a, app_id=app_id, service_url=service_url, tenant=tenant)
        for a in settings.teams_admins
    ]
    core.people.register(people, admins)


async def _on_turn_error(context: TurnContext, error: Exception) -> None:
    reference = uuid.uuid4().hex[:12]
    activity = context.activity
    log.error(
        "unhandled error %s in a Teams %s activity: %s",
        reference, activity.type, error, exc_info=error,
    )  # fmt: skip
    if activity.type == "message":
        await send_text(context, messages.unexpected_error(reference))
