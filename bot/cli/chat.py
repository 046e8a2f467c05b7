"""The terminal chat of ``supportbot chat`` and ``demo``, and how an answer is printed."""

from __future__ import annotations

import asyncio
import dataclasses
import getpass
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from bot.cli import messages
from bot.cli.common import jsonable
from bot.core.answer_events import AnswerEvent, Final, TextDelta
from bot.core.citations import citation_note
from bot.core.types import Answer, Question, Turn
from bot.platforms.identity import user_hash


@dataclass(frozen=True)
class Reply:
    """An answer for the terminal, with a line to print after it (or None); ``printed``: it
    was printed already, as it was written."""

    answer: Answer
    note: str | None = None
    printed: bool = False


Respond = Callable[[Question], Awaitable[Reply]]


def print_answer(answer: Answer, *, as_json: bool) -> None:
    """The answer with its numbered sources, or as one line of JSON."""
    if as_json:
        print(json.dumps(jsonable(dataclasses.asdict(answer)), ensure_ascii=False))
        return
    print(answer_text(answer))


def answer_text(answer: Answer, *, text: str | None = None) -> str:
    """The answer and its numbered sources, as the terminal shows them (``text`` in place of
    the answer's: "" for the sources alone)."""
    sources = [
        (c.n, f"{c.title} › {c.section}" if c.section else c.title, c.url, citation_note(c))
        for c in answer.citations
    ]
    return messages.answer_block(answer.text if text is None else text, sources)


async def print_streamed(events: AsyncIterator[AnswerEvent]) -> Reply:
    """Print the answer as it is written, then its sources; an answer that replaces what was
    printed (the draft was declined or cut short) is printed after it, said so."""
    print()
    final: Final | None = None
    async for event in events:
        if isinstance(event, TextDelta):
            print(event.text, end="", flush=True)
        elif isinstance(event, Final):
            final = event
    if final is None:
        raise RuntimeError("the answer's events ended without the final answer")
    if not final.shown:
        print(answer_text(final.answer))
    elif final.replaces:
        print(f"\n\n{messages.CHAT_INSTEAD}\n{answer_text(final.answer)}")
    else:
        print(answer_text(final.answer, text=""))
    return Reply(final.answer, printed=True)


def terminal_asker(key: bytes) -> str:
    """Who asks in the terminal, for the per-person limits: the operating system's user."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no login name and no password entry (some containers)
        name = str(os.getuid())
    return user_hash("cli", name, key)


async def chat_loop(respond: Respond, scopes: tuple[str, ...], asker: str) -> None:
    """Read questions until /quit or end of input; follow-ups carry the conversation so far."""
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
        reply = await respond(Question(line, scopes=scopes, history=tuple(history), asker=asker))
        if not reply.printed:
            print()
            print_answer(reply.answer, as_json=False)
        if reply.note:
            print(reply.note)
        history += [Turn("user", line), Turn("assistant", reply.answer.text)]
