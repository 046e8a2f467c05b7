"""The console's routes under ``/admin``, added to the one aiohttp server.

Every route but the sign-in link and the stylesheet needs a session cookie; every POST needs
the session's CSRF token. Pages are Jinja2 templates with autoescaping, so whatever employees
typed (gap questions) is shown as text, never as markup.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jinja2
from aiohttp import web

from bot.console import messages, queries
from bot.console.signin import SESSION_SECONDS, SIGN_IN_PATH, ConsoleSession, RedisConsoleSignIn
from bot.console.tables import Table
from bot.core.knowledge_base import KnowledgeBase
from bot.loop.curation import AdminAnswer, Curator
from bot.platforms.admin import AdminCommandError, parse_scopes

COOKIE = "supportbot_console"
OVERVIEW_DAYS = 30
GAP_LIMIT = 100
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
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


@dataclass(frozen=True)
class Console:
    """What the console reads and writes through; ``secure_cookie`` is off only when the
    public URL is plain http on loopback (local development)."""

    sign_in: RedisConsoleSignIn
    kb: KnowledgeBase
    curator: Curator
    secure_cookie: bool = True


def add_console_routes(app: web.Application, console: Console) -> None:
    """Add ``/admin`` and its pages to ``app``."""
    routes = _Routes(console)
    app.router.add_get(SIGN_IN_PATH, routes.sign_in)
    app.router.add_get("/admin/static/console.css", routes.stylesheet)
    app.router.add_get("/admin", routes.guarded(routes.overview))
    app.router.add_get("/admin/", routes.guarded(routes.overview))
    app.router.add_get("/admin/gaps", routes.guarded(routes.gaps))
    app.router.add_get("/admin/documents", routes.guarded(routes.documents))
    app.router.add_get("/admin/usage", routes.guarded(routes.usage))
    app.router.add_get("/admin/downvoted", routes.guarded(routes.downvoted))
    app.router.add_post("/admin/gaps/{gap_id:[0-9]+}/answer", routes.guarded(routes.answer_gap))
    app.router.add_post("/admin/sign-out", routes.guarded(routes.sign_out))


_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("bot.console", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def _render(name: str, status: int = 200, **context: Any) -> web.Response:
    body = _templates.get_template(name).render(title=messages.TITLE, **context)
    return web.Response(
        text=body, status=status, content_type="text/html", charset="utf-8", headers=_HEADERS
    )


def _message(status: int, message: str, session: ConsoleSession | None = None) -> web.Response:
    heading = "Console" if status < 400 else "Not allowed"
    return _render(
        "message.html", status, heading=heading, message=message, session=session, back=None
    )


class _Routes:
    def __init__(self, console: Console) -> None:
        self._console = console

    def guarded(self, page: Page) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """``page`` for a signed-in admin, and for a POST only with the session's CSRF token."""

        async def handle(request: web.Request) -> web.StreamResponse:
            session = await self._console.sign_in.session(request.cookies.get(COOKIE))
            if session is None:
                return _message(401, messages.NOT_SIGNED_IN)
            if request.method == "POST":
                form = await request.post()
                token = form.get("csrf_token")
                if not session.csrf_ok(token if isinstance(token, str) else None):
                    return _message(403, messages.CSRF_REFUSED, session)
            return await page(request, session)

        return handle

    async def sign_in(self, request: web.Request) -> web.StreamResponse:
        agent = request.headers.get("User-Agent", "").lower()
        if any(previewer in agent for previewer in LINK_PREVIEWERS):
            return _message(200, messages.OPEN_IN_BROWSER)
        admin = await self._console.sign_in.redeem(request.query.get("token", ""))
        if admin is None:
            return _message(403, messages.LINK_REFUSED)
        session_id = await self._console.sign_in.open_session(admin)
        response = web.Response(status=303, headers={**_HEADERS, "Location": "/admin"})
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
        response = _message(200, messages.SIGNED_OUT)
        response.del_cookie(COOKIE, path="/admin")
        return response

    async def stylesheet(self, _request: web.Request) -> web.StreamResponse:
        css = resources.files("bot.console").joinpath("static/console.css").read_text()
        return web.Response(text=css, content_type="text/css", headers=_HEADERS)

    async def overview(self, request: web.Request, session: ConsoleSession) -> web.StreamResponse:
        found = await queries.overview(self._console.kb.engine, OVERVIEW_DAYS)
        return _table_page(request, session, found, messages.OVERVIEW, messages.OVERVIEW_NOTE)

    async def usage(self, request: web.Request, session: ConsoleSession) -> web.StreamResponse:
        found = await queries.usage_by_model(self._console.kb.engine, OVERVIEW_DAYS)
        return _table_page(request, session, found, messages.USAGE, messages.USAGE_NOTE)

    async def downvoted(self, request: web.Request, session: ConsoleSession) -> web.StreamResponse:
        found = await queries.downvoted(self._console.curator, GAP_LIMIT)
        return _table_page(request, session, found, messages.DOWNVOTED, messages.DOWNVOTED_NOTE)

    async def documents(self, request: web.Request, session: ConsoleSession) -> web.StreamResponse:
        found = await queries.documents(self._console.kb)
        return _table_page(request, session, found, messages.DOCUMENTS, "")

    async def gaps(self, request: web.Request, session: ConsoleSession) -> web.StreamResponse:
        if _wants_csv(request):
            return _csv(await queries.gaps(self._console.curator, GAP_LIMIT))
        found, _total = await self._console.curator.open_gaps(GAP_LIMIT)
        return _render(
            "gaps.html", heading=messages.GAPS, note=messages.GAPS_NOTE, gaps=found, session=session
        )

    async def answer_gap(self, request: web.Request, session: ConsoleSession) -> web.StreamResponse:
        form = await request.post()
        text, scopes_text = str(form.get("answer", "")).strip(), str(form.get("scopes", ""))
        if not text:
            return _message(400, messages.EMPTY_ANSWER, session)
        try:
            scopes = parse_scopes(scopes_text.split())
        except AdminCommandError as e:
            return _message(400, str(e), session)
        reply = await self._console.curator.answer_gap(
            int(request.match_info["gap_id"]), AdminAnswer(text, session.admin, scopes)
        )
        return _render(
            "message.html",
            heading=messages.GAPS,
            message=reply,
            session=session,
            back="/admin/gaps",
        )


def _wants_csv(request: web.Request) -> bool:
    return request.query.get("format") == "csv"


def _csv(found: Table) -> web.Response:
    headers = {**_HEADERS, "Content-Disposition": f'attachment; filename="{found.name}.csv"'}
    return web.Response(text=found.csv(), content_type="text/csv", headers=headers)


def _table_page(
    request: web.Request, session: ConsoleSession, found: Table, heading: str, note: str
) -> web.StreamResponse:
    if _wants_csv(request):
        return _csv(found)
    return _render("table.html", heading=heading, note=note, table=found, session=session)
