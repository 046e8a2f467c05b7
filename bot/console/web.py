"""The console's routes under ``/admin``, added to the one aiohttp server.

Every route but the sign-in link and the static files needs a session cookie whose admin is
still in SLACK_ADMINS or TEAMS_ADMINS; every POST needs the session's CSRF token. When Redis or
Postgres cannot be reached, a page says which, with a 503.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import get_args

import redis
from aiohttp import web

from bot.console import corpus, gap_queries, messages, queries
from bot.console.charts import chart_data
from bot.console.rendering import (
    HEADERS,
    csv_download,
    notice,
    render,
    static_file,
    tables_page,
    unavailable,
)
from bot.console.signin import SESSION_SECONDS, SIGN_IN_PATH, ConsoleSession, RedisConsoleSignIn
from bot.core.knowledge_base import KnowledgeBase
from bot.loop.curation import AdminAnswer, Curator
from bot.loop.gap_types import Reason
from bot.platforms.admin import AdminCommandError, parse_scopes
from knowledge.database import CONNECTION_ERRORS
from knowledge.errors import KnowledgeError
from knowledge.sources.manager import SourceManager

log = logging.getLogger(__name__)

COOKIE = "supportbot_console"
OVERVIEW_DAYS = 30
GAPS_PER_PAGE = 100
# The CSV of the gap queue and of 👎 answers: every open gap, up to this many (their pages
# show the first GAPS_PER_PAGE).
EXPORT_LIMIT = 10_000
# Chat apps fetch links to preview them; such a fetch must not use up the one-time link.
LINK_PREVIEWERS = (
    "slackbot",
    "slack-imgproxy",
    "skypeuripreview",
    "microsoft office",
    "teams",
    "bingpreview",
    "facebookexternalhit",
    "discordbot",
    "whatsapp",
    "telegrambot",
    "twitterbot",
)
Page = Callable[[web.Request, ConsoleSession], Awaitable[web.StreamResponse]]
_DATABASE_ERRORS = (KnowledgeError, *CONNECTION_ERRORS)


@dataclass(frozen=True)
class Console:
    """What the console reads and writes through. ``admins`` (Slack and Teams ids) is checked
    on every request, not only at sign-in; ``secure_cookie`` is off only when the public URL is
    plain http on loopback (local development)."""

    sign_in: RedisConsoleSignIn
    kb: KnowledgeBase
    curator: Curator
    sources: SourceManager
    admins: frozenset[str]
    secure_cookie: bool = True


def add_console_routes(app: web.Application, console: Console) -> None:
    """Add ``/admin`` and its pages to ``app``."""
    routes = _Routes(console)
    app.router.add_get(SIGN_IN_PATH, routes.sign_in)
    app.router.add_get("/admin/static/{name:.+}", routes.static)
    for path, page in (
        ("/admin", routes.overview),
        ("/admin/", routes.overview),
        ("/admin/gaps", routes.gaps),
        ("/admin/downvoted", routes.downvoted),
        ("/admin/documents", routes.documents),
        ("/admin/sources", routes.sources),
        ("/admin/usage", routes.usage),
    ):
        app.router.add_get(path, routes.guarded(page))
    app.router.add_post("/admin/gaps/{gap_id:[0-9]+}/answer", routes.guarded(routes.answer_gap))
    app.router.add_post("/admin/sign-out", routes.guarded(routes.sign_out))


class _Routes:
    def __init__(self, console: Console) -> None:
        self._console = console

    def guarded(self, page: Page) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """``page`` for a signed-in admin, and for a POST only with the session's CSRF token."""

        async def handle(request: web.Request) -> web.StreamResponse:
            try:
                session = await self._session(request)
            except (redis.RedisError, OSError) as e:
                return unavailable(messages.REDIS_DOWN, e)
            if session is None:
                return notice(401, messages.NOT_SIGNED_IN)
            try:
                if request.method == "POST":
                    form = await request.post()
                    token = form.get("csrf_token")
                    if not session.csrf_ok(token if isinstance(token, str) else None):
                        return notice(403, messages.CSRF_REFUSED, session)
                return await page(request, session)
            except redis.RedisError as e:
                return unavailable(messages.REDIS_DOWN, e)
            except _DATABASE_ERRORS as e:
                return unavailable(messages.DATABASE_DOWN, e)

        return handle

    async def _session(self, request: web.Request) -> ConsoleSession | None:
        cookie = request.cookies.get(COOKIE)
        session = await self._console.sign_in.session(cookie)
        if session is not None and session.admin not in self._console.admins:
            # No longer an admin: the session ends here, whatever its cookie says.
            log.info("console session of %s closed: no longer an admin", session.admin)
            await self._console.sign_in.close_session(cookie or "")
            return None
        return session

    async def sign_in(self, request: web.Request) -> web.StreamResponse:
        agent = request.headers.get("User-Agent", "").lower()
        if any(previewer in agent for previewer in LINK_PREVIEWERS):
            return notice(200, messages.OPEN_IN_BROWSER)
        try:
            admin = await self._console.sign_in.redeem(request.query.get("token", ""))
            if admin is None or admin not in self._console.admins:
                return notice(403, messages.LINK_REFUSED)
            session_id = await self._console.sign_in.open_session(admin)
        except (redis.RedisError, OSError) as e:
            return unavailable(messages.REDIS_DOWN, e)
        response = web.Response(status=303, headers={**HEADERS, "Location": "/admin"})
        response.set_cookie(
            COOKIE,
            session_id,
            max_age=SESSION_SECONDS,
            path="/admin",
            httponly=True,
            secure=self._console.secure_cookie,
            samesite="Strict",
        )
        return response

    async def sign_out(self, request: web.Request, session: ConsoleSession) -> web.StreamResponse:
        await self._console.sign_in.close_session(request.cookies.get(COOKIE, ""))
        response = notice(200, messages.SIGNED_OUT)
        response.del_cookie(COOKIE, path="/admin")
        return response

    async def static(self, request: web.Request) -> web.StreamResponse:
        return static_file(request.match_info["name"])

    async def overview(self, request: web.Request, session: ConsoleSession) -> web.StreamResponse:
        found = await queries.overview(self._console.kb.engine, OVERVIEW_DAYS)
        return tables_page(
            request,
            session,
            [found],
            messages.OVERVIEW,
            messages.OVERVIEW_NOTE,
            charts=chart_data(found),
        )

    async def usage(self, request: web.Request, session: ConsoleSession) -> web.StreamResponse:
        engine = self._console.kb.engine
        by_model = await queries.usage_by_model(engine, OVERVIEW_DAYS)
        by_platform = await queries.usage_by_platform(engine, OVERVIEW_DAYS)
        return tables_page(
            request, session, [by_model, by_platform], messages.USAGE, messages.USAGE_NOTE
        )

    async def downvoted(self, request: web.Request, session: ConsoleSession) -> web.StreamResponse:
        limit = EXPORT_LIMIT if request.query.get("format") == "csv" else GAPS_PER_PAGE
        found = await gap_queries.downvoted(self._console.curator, limit)
        return tables_page(request, session, [found], messages.DOWNVOTED, messages.DOWNVOTED_NOTE)

    async def documents(self, request: web.Request, session: ConsoleSession) -> web.StreamResponse:
        never = request.query.get("cited") == "never"
        found = await corpus.documents(self._console.kb, OVERVIEW_DAYS, never_cited_only=never)
        note = messages.DOCUMENTS_NEVER_CITED_NOTE if never else messages.DOCUMENTS_NOTE
        filters = (
            (messages.ALL_DOCUMENTS, "/admin/documents")
            if never
            else (messages.NEVER_CITED, "/admin/documents?cited=never")
        )
        return tables_page(request, session, [found], messages.DOCUMENTS, note, filters=[filters])

    async def sources(self, request: web.Request, session: ConsoleSession) -> web.StreamResponse:
        found = await corpus.sources(self._console.sources)
        return tables_page(request, session, [found], messages.SOURCES, messages.SOURCES_NOTE)

    async def gaps(self, request: web.Request, session: ConsoleSession) -> web.StreamResponse:
        asked = request.query.get("reason")
        reason = next((r for r in get_args(Reason) if r == asked), None)
        if request.query.get("format") == "csv":
            found = await gap_queries.gaps(self._console.curator, EXPORT_LIMIT, reason)
            return csv_download(found)
        page_asked = request.query.get("page", "1")
        number = int(page_asked) if page_asked.isdigit() else 1
        page = await gap_queries.gap_page(self._console.curator, number, GAPS_PER_PAGE, reason)
        return render(
            "gaps.html",
            heading=messages.GAPS,
            note=messages.GAPS_NOTE,
            found=page,
            reasons=messages.GAP_REASONS,
            session=session,
        )

    async def answer_gap(self, request: web.Request, session: ConsoleSession) -> web.StreamResponse:
        form = await request.post()
        text, scopes_text = str(form.get("answer", "")).strip(), str(form.get("scopes", ""))
        if not text:
            return notice(400, messages.EMPTY_ANSWER, session)
        try:
            scopes = parse_scopes(scopes_text.split())
        except AdminCommandError as e:
            return notice(400, str(e), session)
        reply = await self._console.curator.answer_gap(
            int(request.match_info["gap_id"]), AdminAnswer(text, session.admin, scopes)
        )
        return render(
            "message.html",
            heading=messages.GAPS,
            message=reply,
            session=session,
            back="/admin/gaps",
        )
