"""The background loop of `supportbot serve` that announces changes of documents.

Versions are recorded in Postgres by whoever changed a document (`supportbot ingest`, a
``/kb`` job on any replica); every replica polls for versions nobody announced yet and claims
them one at a time (``knowledge/announcements.py``), so each change is announced once, by
one replica, even when it was made by a command with no chat clients.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Protocol

from bot.service.periodic import every
from knowledge.announcements import DocumentChange, PgChangeClaims

log = logging.getLogger(__name__)


class ChangeListener(Protocol):
    """Tells someone about one change; logs its own delivery failures."""

    async def announce(self, change: DocumentChange) -> int: ...


class ChangeWatch:
    """Claims unannounced versions and hands each to every listener."""

    def __init__(
        self, claims: PgChangeClaims, listeners: Sequence[ChangeListener], interval: float
    ) -> None:
        self._claims = claims
        self._listeners = tuple(listeners)
        self._interval = interval

    async def announce_pending(self) -> int:
        """Announce every change no replica has claimed yet; returns how many this one took.
        Raises ``DatabaseUnavailableError``."""
        count = 0
        while (change := await self._claims.claim_next()) is not None:
            count += 1
            log.info("announcing version %d of document %s", change.number, change.document_id)
            for listener in self._listeners:
                try:
                    await listener.announce(change)
                except Exception:
                    # One listener failing (a chat platform down) must not silence the others.
                    log.exception("announcing document %s failed", change.document_id)
        return count

    def running(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Poll for changes in the background until the block ends."""
        return every(self._interval, self.announce_pending, "look for changes to announce")
