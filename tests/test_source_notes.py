""" "updated <date>" and "review overdue" next to each source, in every renderer and the cache."""

from __future__ import annotations

import json
from datetime import date

from bot.cli.chat import answer_text
from bot.core.cache import answer_from_json, answer_to_json
from bot.core.citations import citation_note
from bot.core.types import Answer, Citation
from bot.platforms.slack.blocks import answer_message
from bot.platforms.teams.cards import answer_card, plain_answer_activity

OVERDUE = Citation(
    1, "d1", "Travel <policy>", "Flights", "https://hb.test/travel#flights",
    updated=date(2026, 3, 4), review_by=date(2020, 1, 31),
)  # fmt: skip
FRESH = Citation(2, "d2", "Leave", "", "https://hb.test/leave", review_by=date(2999, 1, 1))


def _answer(*citations: Citation) -> Answer:
    return Answer("a1", "Book economy [1][2].", citations, True, "answered", "offline")


def test_the_note_says_when_a_source_changed_and_whether_its_review_is_overdue() -> None:
    today = date(2026, 12, 6)
    assert citation_note(OVERDUE, today) == "updated 2026-03-04 · review overdue"
    assert citation_note(FRESH, today) == ""
    assert citation_note(OVERDUE, date(2020, 1, 31)) == "updated 2026-03-04"


def test_every_renderer_puts_the_note_after_its_source_and_only_there() -> None:
    answer = _answer(OVERDUE, FRESH)
    terminal = answer_text(answer)
    first = (
        "  [1] Travel <policy> › Flights  https://hb.test/travel#flights  (updated 2026-03-04 · "
    )
    assert first + "review overdue)" in terminal
    assert terminal.splitlines()[-1] == "  [2] Leave  https://hb.test/leave"
    slack = json.dumps(answer_message(answer, question_ts="1.0").blocks, ensure_ascii=False)
    assert "Travel &lt;policy&gt; › Flights> (updated 2026-03-04 · review overdue)\\n2. <" in slack
    card = json.dumps(answer_card(answer, "q"), ensure_ascii=False)
    assert (
        '#flights) (updated 2026-03-04 · review overdue)\\n2. [Leave](https://hb.test/leave)"'
        in (card)
    )
    plain = plain_answer_activity(answer).text
    assert (
        "1. Travel <policy> › Flights: https://hb.test/travel#flights (updated 2026-03-04 · "
        in (plain)
    )


def test_a_cached_answer_keeps_its_sources_dates() -> None:
    answer = _answer(OVERDUE, FRESH)
    assert answer_from_json(json.loads(json.dumps(answer_to_json(answer)))) == answer
