"""The ``supportbot serve`` command: the chat server."""

from __future__ import annotations

import argparse

from bot.cli.common import EXIT_OK, Commands
from bot.cli.progress import Progress
from bot.cli.startup import prepare
from bot.service.server import DEFAULT_PORT, check_listening_address, serve
from bot.service.settings import Settings


def register(commands: Commands) -> None:
    """Add ``serve`` to ``commands``."""
    serve_cmd = commands.add_parser("serve", help="run the chat server (Slack)")
    serve_cmd.add_argument("--host", default="0.0.0.0", help="interface (default all: 0.0.0.0)")
    serve_cmd.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    serve_cmd.set_defaults(handler=_serve)


async def _serve(settings: Settings, args: argparse.Namespace) -> int:
    check_listening_address(settings, args.host)  # before the embedded database starts
    # The model is loaded now so that the first question does not wait for it.
    embedder = await prepare(settings, Progress())
    await serve(settings, host=args.host, port=args.port, embedder=embedder)
    return EXIT_OK
