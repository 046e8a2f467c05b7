"""``SUPPORTBOT_PUBLIC_URL``: where the admin console's sign-in links point."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from bot.service.secret import SettingsError


def public_url(value: str | None) -> str | None:
    """The console's base URL without a trailing slash. ``https://`` in production; plain
    ``http://`` only for a loopback host, because the session cookie is Secure only over
    https and would otherwise cross the network in the clear."""
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise SettingsError(f"SUPPORTBOT_PUBLIC_URL must be an http(s) URL, got {value!r}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise SettingsError(
            f"SUPPORTBOT_PUBLIC_URL must be https:// (http:// only for localhost), got {value!r}"
        )
    return value.rstrip("/")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
