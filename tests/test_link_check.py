"""``supportbot docs --check-links`` against a loopback site serving pretty URLs, as the
operator runs it, and what chat's ``kb list`` then shows."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from bot.platforms.admin import AdminCommand, KnowledgeAdmin
from bot.service.settings import Settings
from bot.service.wiring import open_knowledge_base
from tests.documents import write_site_folder
from tests.environment import core_environment
from tests.test_cli import run
from tests.test_loading import closed_port

# What the site publishes: each page's ids. ``carry-over`` is missing from time-off, and
# travel is not published at all (a 404).
PAGES = {
    "/": ["handbook", "how-to-use-it"],
    "/benefits/time-off/": ["time-off", "paid-time-off-policy"],
    "/it": ["it", "getting-help-with-vpn-and-the-portal"],
    "/Office Guide/Desk booking": ["desk-booking", "booking-a-desk"],
    "/security/passwords": ["passwords", "rotation", "length--strength"],
}
# As MkDocs serves a folder's page: the address without its slash redirects to the one with.
REDIRECTS = {"/benefits/time-off": "/benefits/time-off/"}


class Site:
    """A static site on a loopback port; ``pages`` can change while it runs."""

    def __init__(self) -> None:
        self.pages = {path: list(ids) for path, ids in PAGES.items()}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = unquote(urlsplit(self.path).path)
                if path in REDIRECTS:
                    self.send_response(301)
                    self.send_header("Location", REDIRECTS[path])
                    self.end_headers()
                    return
                ids = site.pages.get(path)
                headings = "".join(f"<h2 id='{i}'>{i}</h2>" for i in ids or [])
                body = f"<html><body>{headings}</body></html>".encode()
                self.send_response(200 if ids is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"


@pytest.fixture
def site() -> Iterator[Site]:
    site = Site()
    thread = threading.Thread(target=site.server.serve_forever, daemon=True)
    thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()


Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    def invoke(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return run(*args, database_url=database_url, home=tmp_path / "home", extra_env=env)

    return invoke


ALLOW_LOOPBACK = {"SUPPORTBOT_FETCH_ALLOWED_NETWORKS": "127.0.0.1"}


def documents(cli: Cli) -> dict[str, dict[str, Any]]:
    listed = cli("docs", "--json")
    assert listed.returncode == 0, listed.stderr
    return {d["title"]: d for d in json.loads(listed.stdout)}


def test_check_links_lists_the_broken_and_records_them(
    cli: Cli, site: Site, tmp_path: Path
) -> None:
    folder = write_site_folder(tmp_path / "docs")
    ingested = cli("ingest", str(folder), "--base-url", site.url)
    assert ingested.returncode == 0, ingested.stderr
    before = documents(cli)
    assert before["Time off"]["url"] == site.url + "benefits/time-off"
    version = _corpus_version(cli)

    checked = cli("docs", "--check-links", **ALLOW_LOOPBACK)
    assert checked.returncode == 1, checked.stderr
    assert checked.stdout.splitlines() == [
        f"broken       Time off  {site.url}benefits/time-off: no #carry-over on the page",
        f"broken       Travel  {site.url}benefits/travel: HTTP 404",
        "Checked the links of 6 documents: 2 broken, 4 open. "
        "`docs` and /kb list mark the broken ones.",
    ]
    after = documents(cli)
    assert {t: d["link_problem"] for t, d in after.items() if d["link_problem"]} == {
        "Time off": "no #carry-over on the page",
        "Travel": "HTTP 404",
    }
    # Nothing else changed: no document's version, and not the corpus's.
    assert {t: d["version"] for t, d in after.items()} == {t: 1 for t in before}
    assert {t: d["updated_at"] for t, d in after.items()} == {
        t: d["updated_at"] for t, d in before.items()
    }
    assert _corpus_version(cli) == version
    listing = cli("docs").stdout
    assert "benefits/travel  (link broken: HTTP 404)" in listing

    # Without the operator's allow-list the guard refuses loopback: nothing is checked, and
    # what was known stays known.
    refused = cli("docs", "--check-links")
    assert refused.returncode == 1
    lines = refused.stdout.splitlines()
    assert len(lines) == 7
    desk = f"{site.url}Office%20Guide/Desk%20booking"
    assert lines[0].startswith(f"not allowed  Desk booking  {desk}: ")
    assert lines[0].endswith(
        "127.0.0.1 resolves to 127.0.0.1, loopback (add the network or host to "
        "SUPPORTBOT_FETCH_ALLOWED_NETWORKS to check it)"
    )
    assert lines[-1] == "Checked the links of 6 documents: 6 not allowed."
    assert documents(cli)["Travel"]["link_problem"] == "HTTP 404"

    # Published now, and the time-off page edited: a check and a re-ingest clear them.
    site.pages["/benefits/travel"] = ["flights--trains----rules", "notes", "notes-1"]
    (folder / "benefits" / "time-off" / "index.md").write_text(
        "# Time off\n\n## Paid time off policy\n\nTake at least 30 days a year.\n"
    )
    assert cli("ingest", str(folder), "--base-url", site.url).returncode == 0
    as_json = cli("docs", "--check-links", "--json", **ALLOW_LOOPBACK)
    assert as_json.returncode == 0, as_json.stdout
    assert {c["verdict"] for c in json.loads(as_json.stdout)} == {"open"}
    assert not any(d["link_problem"] for d in documents(cli).values())


def test_an_unreachable_site_and_a_bad_style_get_one_line_each(cli: Cli, tmp_path: Path) -> None:
    folder = write_site_folder(tmp_path / "docs")
    bad = cli("ingest", str(folder), "--base-url", "https://x.test/", "--link-style", "fancy")
    assert bad.returncode == 1
    assert bad.stderr.splitlines() == [
        "supportbot: error: --link-style: unknown link style 'fancy': use pretty, html, path, "
        "optionally followed by :github or :mkdocs for the anchors (e.g. pretty:mkdocs)"
    ]
    assert documents(cli) == {}

    gone = f"http://127.0.0.1:{closed_port()}/"
    assert cli("ingest", str(folder / "benefits"), "--base-url", gone).returncode == 0
    checked = cli("docs", "--check-links", **ALLOW_LOOPBACK)
    assert checked.returncode == 1
    assert checked.stdout.splitlines()[0].startswith(
        f"unreachable  Time off  {gone}time-off: ConnectError: "
    )
    assert checked.stdout.splitlines()[-1] == "Checked the links of 2 documents: 2 unreachable."
    assert "Traceback" not in checked.stderr
    # Unreachable is not known to be broken: nothing is recorded.
    assert not any(d["link_problem"] for d in documents(cli).values())


async def test_kb_list_marks_documents_whose_link_is_broken(
    cli: Cli, site: Site, tmp_path: Path, database_url: str, redis_url: str
) -> None:
    folder = write_site_folder(tmp_path / "docs")
    assert cli("ingest", str(folder), "--base-url", site.url).returncode == 0
    assert cli("docs", "--check-links", **ALLOW_LOOPBACK).returncode == 1
    settings = Settings.from_env(core_environment(database_url=database_url, redis_url=redis_url))
    async with open_knowledge_base(settings) as kb:
        listing = await KnowledgeAdmin(kb).run(AdminCommand("list"))
    lines = {line.split("]")[0].removeprefix("- ["): line for line in listing.splitlines()[1:]}
    assert "⚠️ link broken: HTTP 404 (checked " in lines["Travel"]
    assert "⚠️ link broken: no #carry-over on the page (checked " in lines["Time off"]
    assert [t for t, line in lines.items() if "⚠️" in line] == ["Time off", "Travel"]


def _corpus_version(cli: Cli) -> str:
    status = cli("status").stdout
    return next(line for line in status.splitlines() if line.startswith("corpus version"))
