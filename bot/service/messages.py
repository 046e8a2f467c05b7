"""What the running service prints about itself."""

from __future__ import annotations

from typing import Literal

from bot.service.settings import Settings

TeamsMode = Literal["off", "authenticated", "development"]


def teams_mode(settings: Settings) -> TeamsMode:
    """How ``/api/messages`` is served: not at all, with Bot Framework tokens, or without."""
    if settings.teams_authenticated:
        return "authenticated"
    return "development" if settings.teams_allow_unauthenticated else "off"


def serving(
    host: str,
    port: int,
    *,
    slack: bool,
    socket_mode: bool,
    teams: TeamsMode,
    tenants: tuple[str, ...] = (),
    unsafe_admin_channel: str | None = None,
) -> str:
    """The startup lines: where each platform is served, and what is not as safe as it should
    be (Teams without authentication, an admin channel whose members are not trusted)."""
    base = f"http://{host}:{port}"
    if not slack:
        slack_line = "Slack: off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET or SLACK_APP_TOKEN)"
    elif socket_mode:
        slack_line = "Slack: over Socket Mode"
    else:
        slack_line = f"Slack: events at {base}/slack/events"
    lines = [f"supportbot is serving on {base} (health at /healthz).", slack_line]
    if unsafe_admin_channel is not None:
        lines.append(
            f"Slack: members of SLACK_ADMIN_CHANNEL are NOT admins: the channel is "
            f"{unsafe_admin_channel}; only SLACK_ADMINS are (make the channel private and "
            "not shared outside the organisation)"
        )
    lines.append(_teams_line(base, teams, tenants))
    return "\n".join(lines)


def _teams_line(base: str, teams: TeamsMode, tenants: tuple[str, ...]) -> str:
    if teams == "off":
        return (
            "Teams: off (set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD; "
            "TEAMS_ALLOW_UNAUTHENTICATED=1 for local development with the Bot Framework Emulator)"
        )
    line = f"Teams: activities at {base}/api/messages"
    if teams == "development":
        return line + (
            " NOT authenticated (TEAMS_ALLOW_UNAUTHENTICATED is on): taken only directly from "
            "loopback, for local development with the Bot Framework Emulator"
        )
    allowed = f"tenants {', '.join(tenants)} only" if tenants else "any tenant"
    return f"{line} (Bot Framework tokens required, {allowed})"
