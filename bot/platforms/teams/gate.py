"""Who may reach the Teams bot, checked on every request to ``/api/messages``.

With Bot Framework credentials, botbuilder checks each request's token; with
``TEAMS_ALLOWED_TENANTS`` the activity must also come from one of those tenants, checked after
the token and before the bot does anything. Without credentials (``TEAMS_ALLOW_UNAUTHENTICATED``,
local development) nothing is authenticated, so only requests made directly from loopback are
taken: a reverse proxy on the same machine makes every request come from loopback, so one that
says it was forwarded is refused too.
"""

from __future__ import annotations

import ipaddress
import logging
import uuid
from typing import Any

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.schema import Activity

from bot.platforms.teams.app import TeamsEndpoint
from bot.platforms.teams.handler import TeamsBot

log = logging.getLogger(__name__)

# What reverse proxies add to the requests they pass on (RFC 7239 and the de facto ones).
PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-IP", "Via")


async def handle_activity(teams: TeamsEndpoint, request: web.Request) -> web.StreamResponse:
    """Answer one POST to ``/api/messages``: 403 for a request this deployment does not take,
    401 for a token botbuilder refuses, else what botbuilder answers."""
    if not teams.authenticated and not _directly_from_loopback(request):
        return web.json_response(
            {"error": "without credentials, Teams requests are taken only directly from loopback"},
            status=403,
        )
    gate = _TenantGate(teams.bot, teams.allowed_tenants)
    try:
        response = await teams.adapter.process(request, gate)
    except web.HTTPException as e:
        return web.json_response({"error": e.reason}, status=e.status)
    except Exception as e:
        # The bot's own errors are handled inside the turn; what reaches here failed before
        # it: a token that cannot be checked, or a body that is not an activity.
        reference = uuid.uuid4().hex[:12]
        log.warning("Teams request %s refused: %s: %s", reference, type(e).__name__, e)
        status = 401 if teams.authenticated else 400
        return web.json_response({"error": f"request refused ({reference})"}, status=status)
    if gate.refused is not None:
        log.warning("Teams activity from tenant %s refused: not in TEAMS_ALLOWED_TENANTS",
                    gate.refused)  # fmt: skip
        return web.json_response({"error": "this tenant may not use the bot"}, status=403)
    return response if response is not None else web.Response(status=201)


def activity_tenants(activity: Activity) -> set[str]:
    """Every tenant id the activity names: Teams puts it in ``channelData.tenant.id`` and in
    ``conversation.tenantId`` (which botbuilder's schema keeps among the extra properties)."""
    data: Any = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = data.get("tenant")
    conversation = activity.conversation
    extra = getattr(conversation, "additional_properties", None) or {}
    found = {
        tenant.get("id") if isinstance(tenant, dict) else None,
        getattr(conversation, "tenant_id", None),
        extra.get("tenantId") if isinstance(extra, dict) else None,
    }
    return {str(t) for t in found if t}


class _TenantGate:
    """The bot as botbuilder sees it for one request: runs the turn only for an allowed
    tenant, and otherwise remembers the refusal (so no reply, not even typing, is sent)."""

    def __init__(self, bot: TeamsBot, allowed: frozenset[str]) -> None:
        self._bot = bot
        self._allowed = allowed
        self.refused: str | None = None

    async def on_turn(self, context: TurnContext) -> None:
        tenants = activity_tenants(context.activity)
        if self._allowed and not (tenants and tenants <= self._allowed):
            self.refused = ", ".join(sorted(tenants)) or "(none)"
            return
        await self._bot.on_turn(context)


def _directly_from_loopback(request: web.Request) -> bool:
    if any(header in request.headers for header in PROXY_HEADERS):
        return False
    try:
        return request.remote is not None and ipaddress.ip_address(request.remote).is_loopback
    except ValueError:
        return False
