"""The one protocol every kind of source implements, and the errors connectors raise.

A new kind is one module: a ``SourceConnector`` that lists the items in scope with their change
markers and fetches one item's bytes for the existing loaders, registered in
``knowledge.sources.kinds``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from knowledge.errors import KnowledgeError, LoadError
from knowledge.loading.addresses import AllowList
from knowledge.sources.types import ItemContent, Listing, SourceItem
from knowledge.types import PUBLIC_SCOPE


class SourceConnector(Protocol):
    """A configured origin of documents (a website, a Confluence space, a Drive folder…)."""

    async def list_items(self, cursor: str | None) -> Listing:
        """The items in scope now, or (a delta feed) the changes since ``cursor``.

        Raises ``SourceError`` when the source cannot be listed at all: then nothing is removed.
        """
        ...

    async def fetch(self, item: SourceItem, known_change: str | None) -> ItemContent | None:
        """``item``'s content; None when the source says it has not changed since
        ``known_change`` (an HTTP 304). Raises ``ItemGone`` when it no longer exists there,
        ``LoadError`` when this one item cannot be fetched, ``SourceError`` when no item can."""
        ...

    async def aclose(self) -> None:
        """Release the connections."""
        ...


@dataclass(frozen=True)
class ConnectorContext:
    """What a connector gets from the service besides the source's own settings.

    ``credentials`` are the kind's secrets from the settings (never stored with the source);
    ``allowed`` the hosts and networks the fetches may reach besides public ones; ``groups``
    maps a group at the source to the scopes its members have (the access file's ``sources``);
    ``scopes`` are the source's own.
    """

    credentials: Mapping[str, str] = field(default_factory=dict)
    allowed: AllowList = field(default_factory=AllowList)
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    timeout: float = 20.0
    max_bytes: int = 25 * 1024 * 1024
    max_retry_wait: float = 60.0
    scopes: tuple[str, ...] = (PUBLIC_SCOPE,)


class SourceError(KnowledgeError):
    """A source cannot be used or synced; the message is one line naming the source and what
    was wrong, and never a credential."""


class UnknownSourceError(SourceError):
    """No source has the given name."""


class CredentialsError(SourceError):
    """The source refused the credentials (missing, wrong or expired)."""


class ItemGone(LoadError):
    """The item no longer exists at the source (HTTP 404 or 410, deleted, archived)."""
