"""How the console answers: its pages (Jinja2 with autoescaping, so whatever employees typed is
shown as text, never as markup), one-line notices, CSV downloads and its own static files, all
with the same security headers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from importlib import resources
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from bot.console import messages
from bot.console.signin import ConsoleSession
from bot.console.tables import Table

log = logging.getLogger(__name__)

# Scripts only from this server (Chart.js and console.js, no inline script); charts draw on
# canvases, so nothing else needs allowing.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
# What /admin/static/ serves, and nothing else: the files are packaged with bot.console.
STATIC_FILES = {
    "console.css": "text/css",
    "console.js": "text/javascript",
    "vendor/chart.umd.min.js": "text/javascript",
}
# The static files change only with a release; an hour spares phones 200 kB per page.
_STATIC_CACHE = "private, max-age=3600"

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("bot.console", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def render(name: str, status: int = 200, **context: Any) -> web.Response:
    """The template ``name`` as a page."""
    body = _templates.get_template(name).render(title=messages.TITLE, **context)
    return web.Response(
        text=body, status=status, content_type="text/html", charset="utf-8", headers=HEADERS
    )


def notice(status: int, message: str, session: ConsoleSession | None = None) -> web.Response:
    """A page saying one thing: signed out, refused, or what is unavailable."""
    heading = "Console" if status < 400 else "Unavailable" if status >= 500 else "Not allowed"
    return render(
        "message.html", status, heading=heading, message=message, session=session, back=None
    )


def csv_download(found: Table) -> web.Response:
    """``found`` as a CSV file named after it."""
    headers = {**HEADERS, "Content-Disposition": f'attachment; filename="{found.name}.csv"'}
    return web.Response(text=found.csv(), content_type="text/csv", headers=headers)


def static_file(name: str) -> web.Response:
    """One of ``STATIC_FILES``; 404 for any other name."""
    content_type = STATIC_FILES.get(name)
    if content_type is None:
        raise web.HTTPNotFound()
    body = resources.files("bot.console").joinpath("static", *name.split("/")).read_bytes()
    headers = {**HEADERS, "Cache-Control": _STATIC_CACHE}
    return web.Response(body=body, content_type=content_type, charset="utf-8", headers=headers)


def unavailable(message: str, error: BaseException) -> web.Response:
    """The one-line 503 page naming the service that cannot be reached."""
    log.warning("console page unavailable: %s", type(error).__name__)
    return notice(503, message)


def tables_page(
    request: web.Request,
    session: ConsoleSession,
    tables: Sequence[Table],
    heading: str,
    note: str,
    *,
    charts: Sequence[object] = (),
    filters: Sequence[tuple[str, str]] = (),
) -> web.StreamResponse:
    """A page of ``tables`` (each with its CSV link), or with ``?format=csv`` the table named
    by ``?table=`` (the first by default) as CSV."""
    if request.query.get("format") == "csv":
        wanted = request.query.get("table", tables[0].name)
        chosen = next((t for t in tables if t.name == wanted), None)
        if chosen is None:
            raise web.HTTPNotFound()
        return csv_download(chosen)
    return render(
        "table.html",
        heading=heading,
        note=note,
        tables=tables,
        charts=charts,
        filters=filters,
        session=session,
        captions=messages.TABLE_CAPTIONS,
        downloads={t.name: _csv_query(request, t.name) for t in tables},
    )


def _csv_query(request: web.Request, name: str) -> str:
    # The page's own query (its filter), asking for one of its tables as CSV.
    return "?" + urlencode({**request.query, "format": "csv", "table": name})
