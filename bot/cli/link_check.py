"""``supportbot docs --check-links``: whether every document's link opens, with its anchors.

The links are requested through the same guard as what chat asks the server to download
(``SUPPORTBOT_FETCH_ALLOWED_NETWORKS``), although the operator runs this: a document's link is
not always the operator's choice (a file sent in chat declares its own ``url:``), and the check
would otherwise request it from inside the network.
"""

from __future__ import annotations

import json
import sys

from tqdm import tqdm

from bot.cli import document_messages
from bot.cli.common import EXIT_FAILED, EXIT_OK
from bot.cli.progress import Progress
from bot.cli.startup import prepare
from bot.service.settings import Settings
from bot.service.wiring import open_knowledge_base
from knowledge.link_check import LinkCheck, check_links


async def check_document_links(settings: Settings, *, as_json: bool) -> int:
    """Check, print what is not open (or everything as JSON), record what is known; exit
    status 1 when a link is broken or could not be checked."""
    await prepare(settings, Progress(), load_model=False)
    async with open_knowledge_base(settings, check_model=False) as kb:
        targets = await kb.store.links.targets()
        with tqdm(desc="Checking links", unit=" doc", file=sys.stderr, disable=None) as bar:

            def advance(_check: LinkCheck) -> None:
                bar.update()

            checks = await check_links(targets, kb.guarded_fetcher, progress=advance)
        await kb.store.links.record(checks)
    if as_json:
        print(json.dumps([_as_json(c) for c in checks], ensure_ascii=False, indent=2))
    elif not checks:
        print(document_messages.no_documents())
    else:
        for check in checks:
            if check.verdict != "open":
                print(document_messages.link_check_line(check))
        print(document_messages.link_check_summary(checks))
    return EXIT_OK if all(c.verdict == "open" for c in checks) else EXIT_FAILED


def _as_json(check: LinkCheck) -> dict[str, str]:
    target = check.target
    return {
        "id": target.document_id,
        "title": target.title,
        "url": target.url,
        "verdict": check.verdict,
        "problem": check.problem,
    }
