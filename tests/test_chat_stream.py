"""``supportbot chat`` prints an answer as it is written, then its sources; an answer that
replaces what was printed (a draft declined or cut short) follows it, said so."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.cli.chat import print_streamed
from bot.core.answer_events import AnswerEvent, Final, Status, TextDelta
from bot.core.types import Answer, Citation

CITATION = Citation(1, "leave", "Leave Policy", "Annual leave", "https://hb.test/leave")


def answer(text: str, outcome: str = "answered") -> Answer:
    cited = (CITATION,) if outcome == "answered" else ()
    return Answer("a1", text, cited, bool(cited), outcome, "m")  # type: ignore[arg-type]


async def events(*items: AnswerEvent) -> AsyncIterator[AnswerEvent]:
    for item in items:
        yield item


async def test_the_text_is_printed_as_it_comes_then_the_sources(
    capsys: pytest.CaptureFixture[str],
) -> None:
    done = answer("25 days [1].")
    reply = await print_streamed(
        events(
            Status("Searching…"),
            TextDelta("25 days"),
            TextDelta(" [1]."),
            Final(done, "25 days [1]."),
        )
    )
    out = capsys.readouterr().out
    assert reply.printed and reply.answer is done
    assert out.count("25 days [1].") == 1 and "Searching" not in out
    assert out.index("25 days [1].") < out.index("Sources:") and "https://hb.test/leave" in out


async def test_a_replaced_draft_is_followed_by_the_answer_that_counts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    apology = answer("Sorry, I can't answer right now.", "unavailable")
    await print_streamed(events(TextDelta("Everyone gets"), Final(apology, "Everyone gets")))
    out = capsys.readouterr().out
    assert out.index("Everyone gets") < out.index("(On checking, instead:)")
    assert out.rstrip().endswith("Sorry, I can't answer right now.")
