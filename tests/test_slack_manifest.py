"""The Slack app manifest asks for what the bot uses, and points at the server's endpoint."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import yaml

from bot.platforms.slack.blocks import SHORTCUT_IMPROVE
from bot.service.server import SLACK_EVENTS_PATH

MANIFEST = Path(__file__).parent.parent / "deploy" / "slack" / "manifest.yml"
# Web API methods the adapter calls → the bot scope each needs (Slack's method docs).
SCOPES_FOR_METHODS = {
    "chat.postMessage": "chat:write",
    "chat.startStream, appendStream, stopStream": "chat:write",
    "assistant.threads.setStatus": "assistant:write",
    "assistant.threads.setSuggestedPrompts": "assistant:write",
    "assistant.threads.setTitle": "assistant:write",
    "chat.postEphemeral": "chat:write",
    "message.im (assistant threads are DM threads)": "im:history",
    "reactions.add": "reactions:write",
    "conversations.replies (public, private, DM)": ("channels:history", "groups:history",
                                                    "im:history"),
    "conversations.members (admin channel)": ("channels:read", "groups:read"),
    "conversations.info (admin channel)": ("channels:read", "groups:read"),
    "usergroups.users.list": "usergroups:read",
    "users.lookupByEmail (document owners)": ("users:read", "users:read.email"),
    "file downloads": "files:read",
    "/kb": "commands",
    "app_mention": "app_mentions:read",
}  # fmt: skip


def test_the_manifest_requests_every_scope_the_adapter_needs() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    granted = set(manifest["oauth_config"]["scopes"]["bot"])
    for use, scopes in SCOPES_FOR_METHODS.items():
        needed = {scopes} if isinstance(scopes, str) else set(scopes)
        assert needed <= granted, f"{use} needs {needed - granted}"


def test_events_command_and_interactivity_point_at_the_events_endpoint() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    settings = manifest["settings"]
    events = set(settings["event_subscriptions"]["bot_events"])
    assert {"app_mention", "message.channels", "message.groups", "message.im"} <= events
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/kb"
    urls = [
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
        command["url"],
    ]
    assert all(urlsplit(u).path == SLACK_EVENTS_PATH for u in urls)
    assert settings["interactivity"]["is_enabled"] is True


def test_the_improve_shortcut_is_declared_with_the_callback_the_adapter_listens_to() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    [shortcut] = manifest["features"]["shortcuts"]
    assert shortcut["type"] == "message"
    assert shortcut["callback_id"] == SHORTCUT_IMPROVE
    assert "commands" in manifest["oauth_config"]["scopes"]["bot"]  # shortcuts need it


def test_the_assistant_pane_is_declared_with_the_events_the_adapter_listens_to() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    view = manifest["features"]["assistant_view"]
    assert view["assistant_description"].strip()
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"assistant_thread_started", "assistant_thread_context_changed", "message.im"} <= events
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
