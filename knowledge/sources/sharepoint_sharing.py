"""Who may see a SharePoint or OneDrive file, from its Graph permissions.

A file that inherits its permissions from its library (any permission with ``inheritedFrom``)
is seen by whoever sees the library: it gets the source's scopes. A file with permissions of
its own (SharePoint's unique permissions) is seen by those it is shared with: shared by a link
for anyone or the whole organisation, it gets the source's scopes too; shared only with people
and groups, it gets the scopes the access file maps those groups to (by id or display name),
else only the restricted ones, so it is never public.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_OPEN_LINKS = ("anonymous", "organization")


def sharing_scopes(
    permissions: Sequence[Mapping[str, Any]],
    groups: Mapping[str, tuple[str, ...]],
    restricted: tuple[str, ...],
) -> tuple[str, ...] | None:
    """The scopes of a file with ``permissions``; None for the source's own."""
    if not permissions or any(p.get("inheritedFrom") for p in permissions):
        return None
    if any((p.get("link") or {}).get("scope") in _OPEN_LINKS for p in permissions):
        return None
    mapped: set[str] = set()
    for permission in permissions:
        grantees = [permission.get("grantedToV2") or {}]
        grantees += permission.get("grantedToIdentitiesV2") or []
        for grantee in grantees:
            group = grantee.get("group") or grantee.get("siteGroup") or {}
            for key in (group.get("id"), group.get("displayName")):
                if key:
                    mapped.update(groups.get(str(key), ()))
    return tuple(sorted(mapped)) if mapped else restricted
