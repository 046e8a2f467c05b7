"""The ``supportbot`` commands that answer questions: ask, chat, demo, and usage of answers."""

from __future__ import annotations

import argparse
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.cli import messages
from bot.cli.chat import Reply, chat_loop, print_answer, print_streamed, terminal_asker
from bot.cli.common import EXIT_FAILED, EXIT_OK, Commands, parse_scopes, read_texts
from bot.cli.demo import demo
from bot.cli.progress import Progress
from bot.cli.startup import prepare
from bot.core.answer_log import PgAnswerLog, Prices
from bot.core.types import Question
from bot.service.settings import Settings
from bot.service.wiring import open_core, open_knowledge_base
from knowledge.types import PUBLIC_SCOPE


def register(commands: Commands) -> None:
    """Add the answering commands to ``commands``."""
    ask_cmd = commands.add_parser("ask", help="answer a question from the documents")
    ask_cmd.add_argument("question", nargs="?", help="the question")
    ask_cmd.add_argument("--scope", action="append", help="scopes the asker may see")
    ask_cmd.add_argument("--json", action="store_true", help="print JSON")
    ask_cmd.add_argument("--batch", type=Path, help="a file with one question per line")
    ask_cmd.set_defaults(handler=_ask)

    chat_cmd = commands.add_parser("chat", help="a terminal chat with the bot")
    chat_cmd.add_argument("--scope", action="append", help="scopes the asker may see")
    chat_cmd.set_defaults(handler=_chat)

    demo_cmd = commands.add_parser(
        "demo", help="set up on embedded defaults with the sample handbook, then chat"
    )
    demo_cmd.add_argument("question", nargs="?", help="answer one question and exit")
    demo_cmd.set_defaults(handler=demo)

    usage_cmd = commands.add_parser("usage", help="answers, tokens and estimated cost")
    usage_cmd.add_argument("--days", type=int, default=30, help="how far back (default 30)")
    usage_cmd.set_defaults(handler=_usage)


async def _ask(settings: Settings, args: argparse.Namespace) -> int:
    texts = read_texts(args.question, args.batch, "a question")
    if texts is None:
        return EXIT_FAILED
    scopes = parse_scopes(args.scope) if args.scope else (PUBLIC_SCOPE,)
    embedder = await prepare(settings, Progress())
    async with open_core(settings, embedder=embedder) as core:
        asker = terminal_asker(core.user_hash_key)
        for text in texts:
            answer = await core.answers.answer(Question(text, scopes=scopes, asker=asker))
            print_answer(answer, as_json=args.json)
    return EXIT_OK


async def _chat(settings: Settings, args: argparse.Namespace) -> int:
    scopes = parse_scopes(args.scope) if args.scope else (PUBLIC_SCOPE,)
    embedder = await prepare(settings, Progress())
    async with open_core(settings, embedder=embedder) as core:

        async def respond(question: Question) -> Reply:
            return await print_streamed(core.answers.stream(question))

        await chat_loop(respond, scopes, terminal_asker(core.user_hash_key))
    return EXIT_OK


async def _usage(settings: Settings, args: argparse.Namespace) -> int:
    await prepare(settings, Progress(), load_model=False)
    async with open_knowledge_base(settings, check_model=False) as kb:
        since = datetime.now(UTC) - timedelta(days=args.days)
        totals = await PgAnswerLog(kb.engine, Prices()).totals(since)
    for line in messages.usage_lines(args.days, dataclasses.asdict(totals)):
        print(line)
    return EXIT_OK
