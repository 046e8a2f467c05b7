"""``supportbot sources`` as an operator runs it: a real process, a real database and a loopback
website (allowed because it is the host the operator typed, with no allow-list setting)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

from tests.fake_site import fake_site
from tests.test_cli import run


async def _cli(database_url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(run, *args, database_url=database_url, home=home)


async def test_add_sync_list_and_remove_a_web_source(database_url: str, tmp_path: Path) -> None:
    async with fake_site() as site:
        site.page("/leave.html", "Leave policy", "<h2>Annual leave</h2><p>You get 27 days.</p>")
        site.page("/travel.html", "Travel policy", "<h2>Flights</h2><p>Book economy.</p>")
        site.failing.add("/broken.html")
        site.pages["/broken.html"] = ""  # listed in the sitemap, answers 500

        added = await _cli(
            database_url, tmp_path, "sources", "add", "web", "intranet",
            "--sitemap", f"{site.base}/sitemap.xml", "--scope", "hr", "--interval", "2h",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        assert added.stdout.startswith("Added the web source 'intranet'")

        synced = await _cli(database_url, tmp_path, "sources", "sync", "intranet")
        assert synced.returncode == 1
        assert synced.stdout.strip() == (
            "intranet: 2 pages · 2 added, 0 updated, 0 removed, 1 failed, 0 unchanged"
        )
        assert synced.stderr.strip() == (
            f"intranet: failed: {site.base}/broken.html: the server answered HTTP 500"
        )

        listed = await _cli(database_url, tmp_path, "sources", "list", "--json")
        [source] = json.loads(listed.stdout)
        assert source["name"] == "intranet" and source["kind"] == "web"
        assert source["settings"] == {"sitemap": f"{site.base}/sitemap.xml", "max_pages": 5000}
        assert (source["scopes"], source["interval_seconds"]) == (["hr"], 7200)
        assert (source["pages"], source["added"], source["failed"]) == (2, 2, 1)

        docs = json.loads((await _cli(database_url, tmp_path, "docs", "--json")).stdout)
        assert sorted(d["title"] for d in docs) == ["Leave policy", "Travel policy"]

        removed = await _cli(database_url, tmp_path, "sources", "remove", "intranet")
        assert removed.stdout.strip() == "Removed the source 'intranet' and its 2 documents."
        assert json.loads((await _cli(database_url, tmp_path, "docs", "--json")).stdout) == []


async def test_bad_input_is_one_line_naming_it(database_url: str, tmp_path: Path) -> None:
    cases = [
        (
            ("sources", "add", "ftp", "x"),
            "unknown source kind 'ftp' (known: confluence, gdrive, notion, sharepoint, web)",
        ),
        (("sources", "add", "web", "x"), "a web source needs either --sitemap URL or --start URL"),
        (("sources", "add", "web", "x", "--sitemap", "nope"), "'nope' is not an http(s) URL"),
        (
            ("sources", "add", "web", "x", "--sitemap", "https://a.example/", "--interval", "soon"),
            "--interval 'soon': give minutes, or a number with m, h or d",
        ),
        (("sources", "sync", "nope"), "no source named 'nope' (see `supportbot sources list`)"),
        (("sources", "remove", "nope"), "no source named 'nope' (see `supportbot sources list`)"),
    ]
    for args, message in cases:
        result = await _cli(database_url, tmp_path, *args)
        assert result.returncode == 1, args
        assert result.stderr.strip().splitlines() == [f"supportbot: error: {message}"], args
    listed = await _cli(database_url, tmp_path, "sources", "list", "--json")
    assert json.loads(listed.stdout) == []
