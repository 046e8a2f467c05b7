"""Sources synced on the job queue, on demand (as ``/kb sync NAME`` queues it), reported to the
admin who asked, and shown in ``/readyz``'s details and ``/metrics``."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.core.types import ReplyTo
from bot.platforms.admin import KnowledgeAdmin, parse_admin_command
from bot.platforms.delivery import Audience
from bot.service.server import build_web_app, run_jobs
from bot.service.settings import Settings
from bot.service.wiring import open_core
from tests.environment import core_environment
from tests.fake_site import fake_site
from tests.loopback import serve

ADMIN = ReplyTo("test", {"admin": "U1"})


class Inbox:
    """A reporter that keeps what the jobs tell admins."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    async def report(self, _reply_to: ReplyTo, markdown: str) -> None:
        self.messages.append(markdown)

    async def audience(self, _reply_to: ReplyTo) -> Audience:
        return Audience(("public",), ("public",))

    async def report_privately(self, reply_to: ReplyTo, markdown: str) -> None:
        await self.report(reply_to, markdown)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def _get_json(url: str) -> Any:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.json()


async def _get_text(url: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.text()


async def test_kb_sync_queues_a_job_that_reports_and_counts(
    database_url: str, redis_url: str
) -> None:
    settings = Settings.from_env(core_environment(database_url=database_url, redis_url=redis_url))
    inbox = Inbox()
    async with fake_site() as site, open_core(settings) as core:
        site.page("/leave.html", "Leave policy", "<h2>Annual leave</h2><p>27 days.</p>")
        site.page("/travel.html", "Travel policy", "<h2>Flights</h2><p>Economy.</p>")
        await core.sources.add(
            "web", "intranet", {"sitemap": f"{site.base}/sitemap.xml"}, ("public",), 3600
        )
        core.reporters.register("test", inbox)
        admin = KnowledgeAdmin(core.kb, core.jobs, core.sources, core.source_jobs)

        queued = await admin.queue(parse_admin_command("sync intranet"), ADMIN)
        unknown = await admin.queue(parse_admin_command("sync nope"), ADMIN)
        async with serve(build_web_app(core=core)) as url, run_jobs(core):
            for _ in range(400):
                if inbox.messages:
                    break
                await asyncio.sleep(0.05)
            readyz = await _get_json(f"{url}/readyz")
            metrics = _samples(await _get_text(f"{url}/metrics"))
        listing = await admin.run(parse_admin_command("sources"))

    assert queued.startswith("Queued a sync of `intranet` (job ")
    assert unknown == "There is no source named `nope`; `sources` lists them."
    # The periodic job may sync the source (it is due) just before the queued one does: then
    # that one adds the pages and the queued one finds them unchanged.
    assert inbox.messages in (
        ["Synced `intranet`: 2 pages, 2 added, 0 updated, 0 removed, 0 unchanged."],
        ["Synced `intranet`: 2 pages, 0 added, 0 updated, 0 removed, 2 unchanged."],
    )
    details = readyz["sources"]["intranet"]
    assert (details["state"], details["pages"]) == ("ok", 2)
    assert readyz["status"] == "ready"
    intranet = (("source", "intranet"),)
    assert metrics[("supportbot_source_syncs_total", (("outcome", "ok"), *intranet))] >= 1
    assert metrics[("supportbot_source_items_total", (("change", "added"), *intranet))] == 2
    assert metrics[("supportbot_source_pages", intranet)] == 2
    assert listing.startswith(
        "**Sources** (sync one now with `sync NAME`):\n- `intranet` (web): 2 pages"
    )
