"""The ``supportbot`` commands that answer questions: ask, chat, demo, and usage of answers."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.cli import messages
from bot.cli.common import EXIT_FAILED, EXIT_OK, Commands, jsonable, parse_scopes, read_texts
from bot.core.answer_log import PgAnswerLog, Prices
from bot.core.answering import AnswerService
from bot.core.types import Answer, Question, Turn
from bot.platforms.identity import user_hash
from bot.service.settings import Settings
from bot.service.wiring import build_embedder, open_core, open_engine, open_knowledge_base
from knowledge.database import migrate
from knowledge.ingest import ingest
from knowledge.samples import SAMPLE_BASE_URL, SAMPLE_DOCS
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
    demo_cmd.set_defaults(handler=_demo)

    usage_cmd = commands.add_parser("usage", help="answers, tokens and estimated cost")
    usage_cmd.add_argument("--days", type=int, default=30, help="how far back (default 30)")
    usage_cmd.set_defaults(handler=_usage)


async def _ask(settings: Settings, args: argparse.Namespace) -> int:
    texts = read_texts(args.question, args.batch, "a question")
    if texts is None:
        return EXIT_FAILED
    scopes = parse_scopes(args.scope) if args.scope else (PUBLIC_SCOPE,)
    async with open_core(settings) as core:
        asker = terminal_asker(core.user_hash_key)
        for text in texts:
            answer = await core.answers.answer(Question(text, scopes=scopes, asker=asker))
            _print_answer(answer, as_json=args.json)
    return EXIT_OK


def _print_answer(answer: Answer, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(jsonable(dataclasses.asdict(answer)), ensure_ascii=False))
        return
    sources = [
        (c.n, f"{c.title} › {c.section}" if c.section else c.title, c.url) for c in answer.citations
    ]
    print(messages.answer_block(answer.text, sources))


def terminal_asker(key: bytes) -> str:
    """Who asks in the terminal, for the per-person limits: the operating system's user."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no login name and no password entry (some containers)
        name = str(os.getuid())
    return user_hash("cli", name, key)


async def _chat(settings: Settings, args: argparse.Namespace) -> int:
    scopes = parse_scopes(args.scope) if args.scope else (PUBLIC_SCOPE,)
    async with open_core(settings) as core:
        await _chat_loop(core.answers, scopes, terminal_asker(core.user_hash_key))
    return EXIT_OK


async def _chat_loop(service: AnswerService, scopes: tuple[str, ...], asker: str) -> None:
    print(messages.CHAT_WELCOME)
    history: list[Turn] = []
    while True:
        try:
            line = (await asyncio.to_thread(input, "\nyou> ")).strip()
        except EOFError:
            print()
            return
        if line in {"/quit", "/exit"}:
            return
        if line == "/new":
            history = []
            print(messages.CHAT_NEW_THREAD)
            continue
        if not line:
            continue
        answer = await service.answer(
            Question(line, scopes=scopes, history=tuple(history), asker=asker)
        )
        print()
        _print_answer(answer, as_json=False)
        history += [Turn("user", line), Turn("assistant", answer.text)]


async def _demo(settings: Settings, args: argparse.Namespace) -> int:
    async with open_engine(settings) as engine:
        await migrate(engine, embedding_dimension=build_embedder(settings).dimension)
    async with open_core(settings) as core:
        service, kb = core.answers, core.kb
        if not await kb.store.list_documents():
            options = dataclasses.replace(kb.load_options, base_url=SAMPLE_BASE_URL)
            loaded = 0
            async for report in ingest(
                [str(SAMPLE_DOCS)], kb.store, load_options=options, chunking=kb.chunking
            ):
                loaded += report.result is not None
            print(messages.demo_loaded(loaded))
        asker = terminal_asker(core.user_hash_key)
        if args.question:
            question = Question(args.question, asker=asker)
            _print_answer(await service.answer(question), as_json=False)
        else:
            await _chat_loop(service, (PUBLIC_SCOPE,), asker)
    return EXIT_OK


async def _usage(settings: Settings, args: argparse.Namespace) -> int:
    async with open_knowledge_base(settings, check_model=False) as kb:
        since = datetime.now(UTC) - timedelta(days=args.days)
        totals = await PgAnswerLog(kb.engine, Prices()).totals(since)
    for line in messages.usage_lines(args.days, dataclasses.asdict(totals)):
        print(line)
    return EXIT_OK
