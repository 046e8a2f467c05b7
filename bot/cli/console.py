"""The ``supportbot console-link`` command: a one-time sign-in link to the admin console."""

from __future__ import annotations

import argparse
import sys

from bot.cli.common import EXIT_FAILED, EXIT_OK, Commands
from bot.console import messages
from bot.console.signin import RedisConsoleSignIn
from bot.core.cache import redis_client
from bot.service.settings import Settings
from bot.service.wiring import redis_url


def register(commands: Commands) -> None:
    """Add ``console-link`` to ``commands``."""
    link_cmd = commands.add_parser(
        "console-link", help="print a one-time sign-in link to the admin console (10 minutes)"
    )
    link_cmd.add_argument(
        "--admin", required=True, help="the admin's Slack or Teams user id (SLACK_ADMINS, ...)"
    )
    link_cmd.set_defaults(handler=_console_link)


async def _console_link(settings: Settings, args: argparse.Namespace) -> int:
    if settings.public_url is None:
        print(messages.NO_PUBLIC_URL, file=sys.stderr)
        return EXIT_FAILED
    if args.admin not in (*settings.slack_admins, *settings.teams_admins):
        print(messages.NOT_AN_ADMIN, file=sys.stderr)
        return EXIT_FAILED
    url, embedded = await redis_url(settings)
    client = redis_client(url)
    try:
        sign_in = RedisConsoleSignIn(client, settings.redis_namespace)
        print(await sign_in.issue_link(args.admin, settings.public_url))
    finally:
        await client.aclose()
        if embedded is not None:
            embedded.stop()
    return EXIT_OK
