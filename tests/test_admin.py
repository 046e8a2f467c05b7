"""Parsing chat admin commands: the same words in Slack's /kb and Teams' kb."""

from __future__ import annotations

import pytest

from bot.platforms.admin import AdminCommand, AdminCommandError, parse_admin_command


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("", AdminCommand("help")),
        ("help", AdminCommand("help")),
        ("LIST", AdminCommand("list")),
        ("add https://x.test/a", AdminCommand("add", "https://x.test/a")),
        (
            "add <https://x.test/a|x.test/a> hr Finance",
            AdminCommand("add", "https://x.test/a", ("hr", "finance")),
        ),
        ("remove Leave Policy", AdminCommand("remove", "Leave Policy")),
        ("remove <https://x.test/a>", AdminCommand("remove", "https://x.test/a")),
    ],
)
def test_commands_are_parsed(text: str, command: AdminCommand) -> None:
    assert parse_admin_command(text) == command


@pytest.mark.parametrize(
    ("text", "problem"),
    [("add", "Please give a link"), ("remove", "which document"), ("add u h@r", "not a scope"),
     ("delete x", "don't know the command `delete`")],
)  # fmt: skip
def test_bad_commands_say_how_to_write_them(text: str, problem: str) -> None:
    with pytest.raises(AdminCommandError, match=problem):
        parse_admin_command(text)
