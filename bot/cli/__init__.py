"""The ``supportbot`` command line: ``main`` and the parser built from the command groups."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from bot.cli import answers, console, documents, evaluate, messages, serve, sources, tune
from bot.cli.common import EXIT_FAILED
from bot.evaluation.corpus import EvalError
from bot.evaluation.dataset import DatasetError
from bot.loop.tuning.errors import TuningError
from bot.platforms.slack.app import SlackTokenError
from bot.service.embedded import EmbeddedServiceError
from bot.service.settings import Settings, SettingsError
from knowledge.errors import KnowledgeError

EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``supportbot`` console script."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as e:
        print(messages.error(str(e)), file=sys.stderr)
        raise SystemExit(EXIT_FAILED) from None
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    # httpx logs every request's URL at INFO; a download URL from Graph or a signed link is a
    # credential while it lasts.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        code = asyncio.run(args.handler(settings, args))
    except (
        KnowledgeError,
        SettingsError,
        EmbeddedServiceError,
        SlackTokenError,
        DatasetError,
        EvalError,
        TuningError,
    ) as e:
        print(messages.error(str(e)), file=sys.stderr)
        code = EXIT_FAILED
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    raise SystemExit(code)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="supportbot", description="An employee support bot over your policies and SOPs."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # The order here is the order of ``supportbot --help``.
    documents.register(commands)
    sources.register(commands)
    answers.register(commands)
    evaluate.register(commands)
    tune.register(commands)
    serve.register(commands)
    console.register(commands)
    return parser
