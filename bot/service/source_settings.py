"""The settings of sources that stay in sync: the default interval and each kind's credentials.

Credentials come only from here (the environment, or a Kubernetes secret mounted into it):
never from chat, and never stored with a source.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.service.guard_settings import Number
from bot.service.secret import Secret, SettingsError


def source_settings(get: Callable[[str], str | None], number: Number) -> dict[str, Any]:
    """The default sync interval (minutes) and the kinds' credentials that are set, by the
    names the kinds ask for them."""
    given = {
        "confluence_email": get("SUPPORTBOT_CONFLUENCE_EMAIL"),
        "confluence_token": get("SUPPORTBOT_CONFLUENCE_API_TOKEN"),
        "notion_token": get("SUPPORTBOT_NOTION_TOKEN"),
        "graph_tenant": get("SUPPORTBOT_GRAPH_TENANT_ID"),
        "graph_client_id": get("SUPPORTBOT_GRAPH_CLIENT_ID"),
        "graph_client_secret": get("SUPPORTBOT_GRAPH_CLIENT_SECRET"),
        "google_service_account": _read(get("SUPPORTBOT_GOOGLE_SERVICE_ACCOUNT_FILE")),
    }
    credentials = {name: Secret(value) for name, value in given.items() if value}
    return {
        "source_interval_minutes": number("SUPPORTBOT_SOURCE_INTERVAL_MINUTES", int, 60, 1),
        "source_credentials": credentials,
    }


def _read(path: str | None) -> str | None:
    """A key file's text, read at start so a bad path is one clear error, not a failed sync."""
    if path is None:
        return None
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise SettingsError(
            f"SUPPORTBOT_GOOGLE_SERVICE_ACCOUNT_FILE {path!r}: {e.strerror or e}"
        ) from None
