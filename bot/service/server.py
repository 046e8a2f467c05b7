"""The one HTTP server: Slack events, Teams activities and health, on aiohttp.

``supportbot serve`` runs it. With ``SLACK_APP_TOKEN`` the Slack app connects out over Socket
Mode instead of receiving ``/slack/events``, for workspaces without public ingress. Teams
activities arrive at ``/api/messages`` when Teams is configured: with Bot Framework
credentials, or for local development without them (then only directly from loopback, on a
server listening on loopback only).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier

from bot.console.signin import RedisConsoleSignIn
from bot.console.web import Console, add_console_routes
from bot.platforms.admin import KnowledgeAdmin
from bot.platforms.slack.app import build_slack_app, check_tokens
from bot.platforms.slack.directory import admin_channel_problem
from bot.platforms.slack.socket_lease import SocketModeLease
from bot.platforms.teams.app import TeamsEndpoint, build_teams_endpoint
from bot.platforms.teams.gate import handle_activity
from bot.service import messages
from bot.service.components import Core
from bot.service.console_settings import is_loopback
from bot.service.health import check_readiness, source_details
from bot.service.lifecycle import WorkInProgress
from bot.service.metrics import CONTENT_TYPE
from bot.service.periodic import every
from bot.service.settings import Settings, SettingsError
from bot.service.wiring import open_core
from knowledge.embedders import Embedder
from knowledge.loading import RawSource

log = logging.getLogger(__name__)

DEFAULT_PORT = 3000
# Slack's payloads are small; anything much larger is not from Slack.
MAX_REQUEST_BYTES = 1024 * 1024
SLACK_EVENTS_PATH = "/slack/events"
TEAMS_MESSAGES_PATH = "/api/messages"
REVIEW_CHECK_SECONDS = 3600.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_web_app(
    *,
    slack: AsyncApp | None = None,
    slack_signing_secret: str | None = None,
    teams: TeamsEndpoint | None = None,
    core: Core | None = None,
    console: Console | None = None,
) -> web.Application:
    """The aiohttp application: ``/healthz`` always; ``/readyz`` and ``/metrics`` with a core;
    ``/slack/events`` when Slack is on HTTP; ``/api/messages`` when Teams is given; the admin
    console under ``/admin`` when given."""
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app.router.add_get("/healthz", _healthz)
    work = core.work if core is not None else WorkInProgress()
    if core is not None:
        app.router.add_get("/readyz", _readyz_handler(core))
        app.router.add_get("/metrics", _metrics_handler(core))
    if slack is not None and slack_signing_secret is not None:
        verifier = SignatureVerifier(slack_signing_secret)
        app.router.add_post(
            SLACK_EVENTS_PATH, _refused_when_stopping(work, _slack_handler(slack, verifier))
        )
    if teams is not None:
        app.router.add_post(
            TEAMS_MESSAGES_PATH, _refused_when_stopping(work, _teams_handler(teams))
        )
    if console is not None:
        add_console_routes(app, console)
    return app


def _refused_when_stopping(work: WorkInProgress, handler: Handler) -> Handler:
    # 503 makes Slack and Teams deliver the request again, to a replica that is not stopping.
    async def handle(request: web.Request) -> web.StreamResponse:
        if work.stopping:
            return web.json_response({"error": "shutting down"}, status=503)
        return await handler(request)

    return handle


def _readyz_handler(core: Core) -> Handler:
    async def handle(_request: web.Request) -> web.StreamResponse:
        readiness = await check_readiness(core.kb.engine, core.redis)
        checks = {**readiness.checks, "replica": "stopping" if core.work.stopping else "ok"}
        ready = readiness.ready and not core.work.stopping
        body = {
            "status": "ready" if ready else "not ready",
            "checks": checks,
            "sources": await source_details(core.sources),
        }
        return web.json_response(body, status=200 if ready else 503)

    return handle


def _metrics_handler(core: Core) -> Handler:
    async def handle(_request: web.Request) -> web.StreamResponse:
        response = web.Response(body=core.metrics.render())
        response.headers["Content-Type"] = CONTENT_TYPE
        return response

    return handle


def _slack_handler(slack: AsyncApp, verifier: SignatureVerifier) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.text()
        # Bolt verifies too, but only after parsing the body; nothing unsigned gets parsed.
        if not verifier.is_valid_request(body, dict(request.headers)):
            return web.json_response({"error": "invalid request signature"}, status=401)
        try:
            bolt_request = await to_bolt_request(request)
        except ValueError:
            return web.json_response({"error": "malformed request body"}, status=400)
        return await to_aiohttp_response(await slack.async_dispatch(bolt_request))

    return handle


def _teams_handler(teams: TeamsEndpoint) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        return await handle_activity(teams, request)

    return handle


def check_listening_address(settings: Settings, host: str) -> None:
    """Refuse to serve unauthenticated Teams activities on an address others can reach."""
    if settings.teams_allow_unauthenticated and not is_loopback(host):
        raise SettingsError(
            f"TEAMS_ALLOW_UNAUTHENTICATED is on, so serve must listen on loopback only: "
            f"use --host 127.0.0.1, not --host {host}"
        )


async def _healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def serve(
    settings: Settings, *, host: str, port: int, embedder: Embedder | None = None
) -> None:
    """Run until SIGTERM or SIGINT, then stop gracefully.

    Stopping refuses new work (``/readyz`` and the webhooks answer 503, so the load balancer
    and the platforms' retries go to other replicas), hands the Slack Socket Mode connection
    to another replica, and gives answers and ingestion jobs in flight
    ``SUPPORTBOT_SHUTDOWN_TIMEOUT`` seconds to finish.
    """
    check_listening_address(settings, host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        await _serve_until(stop, settings, host=host, port=port, embedder=embedder)
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)


async def _serve_until(
    stop: asyncio.Event, settings: Settings, *, host: str, port: int, embedder: Embedder | None
) -> None:
    loop = asyncio.get_running_loop()
    async with open_core(settings, embedder=embedder) as core:
        slack = build_slack_app(settings, core) if settings.slack_enabled else None
        if slack is not None:
            app_token = settings.slack_app_token
            await check_tokens(slack.client, app_token.reveal() if app_token else None)
        socket_mode = slack is not None and settings.slack_app_token is not None
        secret = settings.slack_signing_secret
        admin_channel = settings.slack_admin_channel
        unsafe_admin_channel = (
            await admin_channel_problem(slack.client, admin_channel)
            if slack is not None and admin_channel is not None
            else None
        )
        teams = build_teams_endpoint(settings, core) if settings.teams_enabled else None
        runner = web.AppRunner(
            build_web_app(
                slack=None if socket_mode else slack,
                slack_signing_secret=secret.reveal() if secret else None,
                teams=teams,
                core=core,
                console=console_of(settings, core),
            ),
            shutdown_timeout=settings.shutdown_timeout,
        )
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        try:
            async with contextlib.AsyncExitStack() as stack:
                await stack.enter_async_context(run_jobs(core))
                await stack.enter_async_context(core.questions.running())
                if slack is not None and settings.slack_app_token is not None:
                    await stack.enter_async_context(
                        _socket_mode(slack, settings.slack_app_token.reveal(), core, settings)
                    )
                print(
                    messages.serving(
                        host,
                        port,
                        slack=slack is not None,
                        socket_mode=socket_mode,
                        teams=messages.teams_mode(settings),
                        tenants=settings.teams_allowed_tenants,
                        unsafe_admin_channel=unsafe_admin_channel,
                    ),
                    flush=True,
                )
                await stop.wait()
                log.warning("stopping: finishing the work in flight")
                core.work.stop_taking_work()
                deadline = loop.time() + settings.shutdown_timeout
                # Leaving the stack hands Socket Mode over and stops the job workers.
            if not await core.work.wait_idle(max(0.0, deadline - loop.time())):
                log.warning("stopped with %d answers still in flight", core.work.count)
        finally:
            await runner.cleanup()


def console_of(settings: Settings, core: Core) -> Console:
    """The admin console over ``core``, for SLACK_ADMINS and TEAMS_ADMINS; its cookie is Secure
    unless the public URL is plain http, which the settings allow on loopback only."""
    return Console(
        sign_in=RedisConsoleSignIn(core.redis, settings.redis_namespace),
        kb=core.kb,
        curator=core.curator,
        sources=core.sources,
        admins=frozenset((*settings.slack_admins, *settings.teams_admins)),
        secure_cookie=not (settings.public_url or "").startswith("http://"),
    )


@contextlib.asynccontextmanager
async def run_jobs(core: Core) -> AsyncIterator[None]:
    """This replica's ingestion workers (links, and files sent to the bot), reporting to
    admins through the chat adapters that registered a reporter with ``core.reporters``, the
    sources' syncs, its watch for changes to announce, and its check for overdue reviews
    (hourly; an owner is reminded at most weekly)."""
    admin = KnowledgeAdmin(core.kb)

    async def ingest_upload(source: RawSource) -> str:
        return await admin.ingest(source, ())

    async with (
        core.jobs.running(
            admin.ingest,
            core.reporters,
            core.source_jobs.tasks(core.reporters),
            core.uploads.tasks(ingest_upload, core.reporters),
        ),
        core.changes.running(),
        every(REVIEW_CHECK_SECONDS, core.reviews.remind_today, "remind owners of reviews"),
    ):
        yield


@contextlib.asynccontextmanager
async def _socket_mode(
    slack: AsyncApp, app_token: str, core: Core, settings: Settings
) -> AsyncIterator[None]:
    """The Socket Mode connection, held by one replica at a time."""
    handler: AsyncSocketModeHandler | None = None

    async def connect() -> None:
        nonlocal handler
        handler = AsyncSocketModeHandler(slack, app_token)
        await handler.connect_async()  # type: ignore[no-untyped-call]

    async def disconnect() -> None:
        nonlocal handler
        if handler is not None:
            await handler.close_async()  # type: ignore[no-untyped-call]
            handler = None

    lease = SocketModeLease(core.redis, settings.redis_namespace, settings.socket_lock_seconds)
    async with lease.hold(connect, disconnect):
        yield
