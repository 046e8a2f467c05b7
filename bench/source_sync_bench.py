"""Benchmark of syncing a website source: what a sync costs when nothing changed, and when some
pages did.

A loopback site (the tests' ``FakeSite``) serves ``--pages`` HTML pages and their sitemap;
embedded Postgres in a temporary home, the hashing embedder (so the changed pages' figure is
the sync's own cost, not a model's). Printed, each with the embedder's calls during it:

1. the first sync (every page fetched, parsed, chunked, embedded and stored);
2. a sync with nothing changed, sitemap without ``<lastmod>``: every page is requested with its
   ETag and answers 304, nothing is parsed or embedded;
3. the same with ``<lastmod>`` in the sitemap: no page is requested at all;
4. a sync after ``--changed`` pages changed (with ``<lastmod>``): those are fetched, parsed and
   re-embedded, the others skipped.

The site runs in the same process and event loop as the sync, so its work is in the figures.

Run from the repository root::

    .venv/bin/python bench/source_sync_bench.py [--pages 2000] [--changed 200]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.service.settings import Settings
from bot.service.wiring import open_engine
from knowledge.database import migrate
from knowledge.embedders import HashingEmbedder
from knowledge.sources.connector import ConnectorContext
from knowledge.sources.manager import SourceManager
from knowledge.sources.records import PgSourceRecords
from knowledge.sources.sync import SourceSync
from knowledge.sources.types import SyncReport
from knowledge.store import PgDocumentStore
from tests.fake_site import FakeSite, fake_site

BODY = (
    "<h2>Who it applies to</h2><p>Every employee of the company, page {n}, in every office.</p>"
    "<h2>What to do</h2><p>Ask your manager first, then file the request in the portal. "
    "Requests are answered within {days} working days.</p>"
)


def publish(site: FakeSite, pages: int, days: int = 3, only: range | None = None) -> None:
    for n in only if only is not None else range(pages):
        site.page(f"/policies/p{n}.html", f"Policy {n}", BODY.format(n=n, days=days))


async def timed(
    label: str, manager: SourceManager, embedder: HashingEmbedder, site: FakeSite
) -> SyncReport:
    calls, site.requests[:] = embedder.calls, []
    started = time.perf_counter()
    report = await manager.sync("site")
    seconds = time.perf_counter() - started
    fetched = sum(1 for _, status in site.requests if status == 200) - 1  # the sitemap
    not_modified = sum(1 for _, status in site.requests if status == 304)
    print(
        f"{label:<44} {seconds:7.1f} s  +{report.added} ~{report.updated} "
        f"={report.unchanged} -{report.removed} !{report.failed}  pages fetched {fetched:>5}, "
        f"304 {not_modified:>5}, embedder calls {embedder.calls - calls}"
    )
    return report


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="source-bench-", dir="/tmp") as home:
        settings = Settings.from_env({"SUPPORTBOT_HOME": home, "SUPPORTBOT_EMBEDDER": "hashing"})
        embedder = HashingEmbedder(384)
        async with open_engine(settings) as engine, fake_site() as site:
            await migrate(engine, embedding_dimension=embedder.dimension)
            store = PgDocumentStore(engine, embedder)
            records = PgSourceRecords(engine)
            manager = SourceManager(
                store, records, SourceSync(store, records), lambda _: ConnectorContext()
            )
            publish(site, args.pages)
            sitemap = {"sitemap": f"{site.base}/sitemap.xml", "max_pages": args.pages}
            await manager.add("web", "site", sitemap, (), 3600)
            print(f"{args.pages} pages, {args.changed} of them changed in the last sync")
            await timed("first sync", manager, embedder, site)
            await timed("unchanged, no <lastmod> (ETag, 304)", manager, embedder, site)
            site.lastmod = {path: "2026-12-01" for path in site.pages}
            await timed("(records the <lastmod> markers)", manager, embedder, site)
            await timed("unchanged, with <lastmod>", manager, embedder, site)
            changed = range(args.changed)
            publish(site, args.pages, days=5, only=changed)
            site.lastmod.update({f"/policies/p{n}.html": "2026-12-06" for n in changed})
            await timed(f"{args.changed} changed, with <lastmod>", manager, embedder, site)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--changed", type=int, default=200)
    asyncio.run(main(parser.parse_args()))
