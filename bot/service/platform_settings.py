"""The Slack and Microsoft Teams settings, each read and checked as a set for ``Settings``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.platforms.assistant_messages import DEFAULT_SUGGESTED_PROMPTS
from bot.service.secret import SettingsError, ids, secret

SLACK_API_URL = "https://slack.com/api/"
TEAMS_APP_TYPES = ("SingleTenant", "MultiTenant", "UserAssignedMSI")
# Slack's assistant pane shows at most this many suggested prompts.
MAX_SUGGESTED_PROMPTS = 4


def slack_settings(get: Callable[[str], str | None]) -> dict[str, Any]:
    """The Slack settings, checked together: a bot token needs a way to receive events."""
    token = get("SLACK_BOT_TOKEN")
    if token and not (get("SLACK_SIGNING_SECRET") or get("SLACK_APP_TOKEN")):
        raise SettingsError(
            "SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET (HTTP events) "
            "nor SLACK_APP_TOKEN (Socket Mode) is"
        )
    api_url = get("SLACK_API_URL") or SLACK_API_URL
    if not api_url.startswith(("https://", "http://")):
        raise SettingsError(f"SLACK_API_URL must be an http(s) URL, got {api_url!r}")
    return {
        "slack_bot_token": secret(token),
        "slack_signing_secret": secret(get("SLACK_SIGNING_SECRET")),
        "slack_app_token": secret(get("SLACK_APP_TOKEN")),
        "slack_api_url": api_url.rstrip("/") + "/",
        "slack_admins": ids(get("SLACK_ADMINS")),
        "slack_admin_channel": get("SLACK_ADMIN_CHANNEL"),
        "slack_escalation_channel": get("SLACK_ESCALATION_CHANNEL"),
        "slack_experts": ids(get("SLACK_EXPERTS")),
        "slack_suggested_prompts": suggested_prompts(get("SLACK_SUGGESTED_PROMPTS")),
    }


def suggested_prompts(value: str | None) -> tuple[str, ...]:
    """``SLACK_SUGGESTED_PROMPTS``: questions separated by ``|``; unset or empty, the defaults;
    a lone ``|``, none."""
    if value is None:
        return DEFAULT_SUGGESTED_PROMPTS
    prompts = tuple(p.strip() for p in value.split("|") if p.strip())
    if len(prompts) > MAX_SUGGESTED_PROMPTS:
        raise SettingsError(
            f"SLACK_SUGGESTED_PROMPTS has {len(prompts)} questions; "
            f"Slack shows at most {MAX_SUGGESTED_PROMPTS}"
        )
    return prompts


def teams_settings(get: Callable[[str], str | None]) -> dict[str, Any]:
    """The Microsoft Teams settings, checked together (they only make sense as a set)."""
    app_id, password = get("MICROSOFT_APP_ID"), get("MICROSOFT_APP_PASSWORD")
    tenant = get("MICROSOFT_APP_TENANT_ID")
    app_type = get("MICROSOFT_APP_TYPE") or ("SingleTenant" if tenant else "MultiTenant")
    if app_type not in TEAMS_APP_TYPES:
        raise SettingsError(
            f"MICROSOFT_APP_TYPE must be one of {', '.join(TEAMS_APP_TYPES)}, got {app_type!r}"
        )
    if app_id is None and (password or tenant):
        raise SettingsError(
            "MICROSOFT_APP_PASSWORD or _TENANT_ID is set but MICROSOFT_APP_ID is not"
        )
    if app_id and app_type != "UserAssignedMSI" and not password:
        raise SettingsError("MICROSOFT_APP_ID is set but MICROSOFT_APP_PASSWORD is not")
    if app_id and app_type == "SingleTenant" and not tenant:
        raise SettingsError(
            "MICROSOFT_APP_TYPE is SingleTenant but MICROSOFT_APP_TENANT_ID is unset"
        )
    channel = get("TEAMS_ESCALATION_CHANNEL")
    if channel and not channel.startswith("19:"):
        raise SettingsError(
            f"TEAMS_ESCALATION_CHANNEL must be a channel id (19:…@thread.tacv2), got {channel!r}"
        )
    unauthenticated = (get("TEAMS_ALLOW_UNAUTHENTICATED") or "0").lower()
    if unauthenticated not in ("0", "1", "false", "true", "no", "yes"):
        raise SettingsError(f"TEAMS_ALLOW_UNAUTHENTICATED must be 1 or 0, got {unauthenticated!r}")
    if app_id and unauthenticated in ("1", "true", "yes"):
        raise SettingsError(
            "TEAMS_ALLOW_UNAUTHENTICATED is for local development without MICROSOFT_APP_ID; "
            "unset one of them"
        )
    metadata_url = get("TEAMS_OPENID_METADATA_URL")
    if metadata_url and not metadata_url.startswith(("https://", "http://")):
        raise SettingsError(
            f"TEAMS_OPENID_METADATA_URL must be an http(s) URL, got {metadata_url!r}"
        )
    return {
        "teams_app_id": app_id,
        "teams_app_password": secret(password),
        "teams_tenant_id": tenant,
        "teams_app_type": app_type,
        "teams_admins": ids(get("TEAMS_ADMINS")),
        "teams_escalation_channel": channel,
        "teams_escalation_user": get("TEAMS_ESCALATION_USER"),
        "teams_allow_unauthenticated": unauthenticated in ("1", "true", "yes"),
        "teams_allowed_tenants": ids(get("TEAMS_ALLOWED_TENANTS")),
        "teams_service_url": get("TEAMS_SERVICE_URL"),
    }
