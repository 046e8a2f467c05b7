"""What the running service prints about itself."""

from __future__ import annotations


def serving(host: str, port: int, *, slack: bool, socket_mode: bool, teams_auth: bool) -> str:
    base = f"http://{host}:{port}"
    if not slack:
        slack_line = "Slack: off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET or SLACK_APP_TOKEN)"
    elif socket_mode:
        slack_line = "Slack: over Socket Mode"
    else:
        slack_line = f"Slack: events at {base}/slack/events"
    teams_line = f"Teams: activities at {base}/api/messages"
    if teams_auth:
        teams_line += " (Bot Framework tokens required)"
    else:
        teams_line += (
            " from loopback only: MICROSOFT_APP_ID is not set, so requests are not "
            "authenticated (local development with the Bot Framework Emulator)"
        )
    return "\n".join(
        [f"supportbot is serving on {base} (health at /healthz).", slack_line, teams_line]
    )
