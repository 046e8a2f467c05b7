"""What the search reads of a chat message: emoji out, chat shorthand spelled out."""

from __future__ import annotations

import pytest

from knowledge.query_text import search_text


@pytest.mark.parametrize(
    ("message", "searched"),
    [
        ("pto next wk?? 🏖️", "pto (paid time off) next wk (week)??"),
        ("can i wfh on fridays", "can i wfh (work from home) on fridays"),
        ("OOO till monday, who covers?", "OOO (out of office) till monday, who covers?"),
        ("1:1 with my mgr", "1:1 (one-on-one meeting) with my mgr (manager)"),
        ("my partner is due in march 👶 how long", "my partner is due in march how long"),
        ("expense w/o receipt", "expense w/o (without) receipt"),
    ],
)
def test_shorthand_is_spelled_out_and_emoji_dropped(message: str, searched: str) -> None:
    assert search_text(message) == searched


@pytest.mark.parametrize(
    "message",
    [
        "What is the wifi password in the Lisbon office?",
        "How many weeks of partner leave do I get?",
        "Quantos dias de férias tenho por ano?",
        "Is the hrm module part of onboarding?",  # shorthand only as a whole word
        "Look at https://intranet.example/pto/wfh-policy",  # nor inside a link
    ],
)
def test_plain_questions_are_searched_as_asked(message: str) -> None:
    assert search_text(message) == message
