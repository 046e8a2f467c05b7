"""Who may see a restricted item (a Confluence page with read restrictions, a file shared only
with people and groups) whose groups the access file does not map."""

from __future__ import annotations

from knowledge.types import PUBLIC_SCOPE

# When the source has no scope of its own but ``public``: a scope no one has unless the access
# file grants it.
RESTRICTED_SCOPE = "restricted"


def restricted_scopes(source_scopes: tuple[str, ...]) -> tuple[str, ...]:
    """The source's own scopes but ``public``, else ``RESTRICTED_SCOPE``: never public."""
    own = tuple(s for s in source_scopes if s != PUBLIC_SCOPE)
    return own or (RESTRICTED_SCOPE,)
