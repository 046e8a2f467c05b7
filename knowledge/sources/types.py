"""Typed values between the source connectors, the sync engine and the source records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from knowledge.loading import RawSource
from knowledge.types import PUBLIC_SCOPE


@dataclass(frozen=True)
class SourceConfig:
    """A source as the operator configured it: ``settings`` are the kind's own (a sitemap, a
    space key…), never credentials, which come from the service's settings."""

    name: str
    kind: str
    settings: Mapping[str, Any]
    scopes: tuple[str, ...] = (PUBLIC_SCOPE,)
    interval_seconds: int = 3600


@dataclass(frozen=True)
class SourceStatus:
    """A source with how its last sync went: ``pages`` it holds now, and what the last sync
    ``added``, ``updated``, ``removed`` and could not sync (``failed``)."""

    config: SourceConfig
    created_at: datetime
    last_sync_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    pages: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    failed: int = 0


@dataclass(frozen=True)
class SourceItem:
    """One item a source lists: its stable ``id`` at the source, its ``change`` marker (a
    version, a modification time, an ETag; empty when the listing does not say), and the
    scopes its restrictions map to (None: the source's scopes). ``removed`` marks an item a
    change feed reports deleted, archived or out of scope."""

    id: str
    change: str = ""
    scopes: tuple[str, ...] | None = None
    removed: bool = False


@dataclass(frozen=True)
class Listing:
    """What a source lists in one sync. ``complete``: every item in scope is in ``items``, so
    the items stored before and not listed now are gone; otherwise ``items`` are changes since
    the last ``cursor`` (a delta feed) and only those marked ``removed`` go. ``cursor`` is what
    to give the next listing."""

    items: tuple[SourceItem, ...]
    complete: bool = True
    cursor: str | None = None


@dataclass(frozen=True)
class ItemContent:
    """One fetched item, ready for the loaders: its bytes, format and deep link in ``raw``, and
    the change marker the fetch returned (an ETag), if any."""

    raw: RawSource
    change: str = ""


@dataclass(frozen=True)
class KnownItem:
    """What the last sync stored of an item."""

    id: str
    document_id: str | None
    change: str
    content_hash: str


@dataclass(frozen=True)
class SyncReport:
    """How one sync of a source went. ``error`` is why the source could not be synced at all
    (nothing was removed then); ``failures`` the items that failed, one line each."""

    source: str
    pages: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failures: tuple[str, ...] = field(default=())
    error: str | None = None

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failures
