"""The kinds of source there are: how each checks its settings and makes its connector."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from knowledge.sources.confluence import CREDENTIALS as CONFLUENCE_CREDENTIALS
from knowledge.sources.confluence import ConfluenceConnector, confluence_settings
from knowledge.sources.connector import ConnectorContext, SourceConnector, SourceError
from knowledge.sources.google_drive import CREDENTIALS as GOOGLE_CREDENTIALS
from knowledge.sources.google_drive import GoogleDriveConnector, google_drive_settings
from knowledge.sources.notion import CREDENTIALS as NOTION_CREDENTIALS
from knowledge.sources.notion import NotionConnector, notion_settings
from knowledge.sources.sharepoint import CREDENTIALS as GRAPH_CREDENTIALS
from knowledge.sources.sharepoint import SharePointConnector, sharepoint_settings
from knowledge.sources.web import WebConnector, web_settings


@dataclass(frozen=True)
class SourceKind:
    """One kind: ``settings`` turns the operator's options into the settings kept with the
    source (raising ``ValueError`` naming a bad one); ``connector`` opens it; ``credentials``
    names the settings it needs (none for a public website)."""

    name: str
    settings: Callable[[Mapping[str, Any]], dict[str, Any]]
    connector: Callable[[Mapping[str, Any], ConnectorContext], SourceConnector]
    credentials: tuple[str, ...] = ()


KINDS: dict[str, SourceKind] = {
    "web": SourceKind("web", web_settings, WebConnector),
    "confluence": SourceKind(
        "confluence", confluence_settings, ConfluenceConnector, CONFLUENCE_CREDENTIALS
    ),
    "gdrive": SourceKind("gdrive", google_drive_settings, GoogleDriveConnector, GOOGLE_CREDENTIALS),
    "notion": SourceKind("notion", notion_settings, NotionConnector, NOTION_CREDENTIALS),
    "sharepoint": SourceKind(
        "sharepoint", sharepoint_settings, SharePointConnector, GRAPH_CREDENTIALS
    ),
}


def kind_named(name: str) -> SourceKind:
    """The kind called ``name``; raises ``SourceError`` listing the known ones."""
    kind = KINDS.get(name.lower())
    if kind is None:
        raise SourceError(f"unknown source kind {name!r} (known: {', '.join(sorted(KINDS))})")
    return kind
