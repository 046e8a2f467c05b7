"""What ``supportbot sources`` prints and reads: a source's status line and the interval."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.cli.source_messages import status_row, sync_line
from bot.cli.sources import interval_seconds
from knowledge.sources.types import SourceConfig, SourceStatus, SyncReport

WIKI = SourceConfig("wiki", "confluence", {"site": "https://x.atlassian.net", "space": "HR"})


def test_a_status_line_says_what_the_source_reads_and_how_its_last_sync_went() -> None:
    when = datetime(2026, 12, 6, 9, 41, tzinfo=UTC)
    never = SourceStatus(WIKI, created_at=when)
    synced = SourceStatus(
        WIKI, when, last_sync_at=when, last_error="page 7: HTTP 500", pages=1, added=1, failed=1
    )

    assert status_row(never) == (
        "wiki  confluence  site https://x.atlassian.net, space HR  [public]  every 1 h  "
        "never synced"
    )
    assert status_row(synced).endswith(
        "synced 2026-12-06 09:41: 1 page, 1 added, 0 updated, 0 removed, 1 failed  "
        "last error: page 7: HTTP 500"
    )
    assert sync_line(SyncReport("wiki", error="refused")) == "wiki: not synced: refused"


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 5400), ("30m", 1800), ("2h", 7200), ("1d", 86_400)]
)
def test_intervals_are_minutes_or_a_number_with_a_unit(text: str, seconds: int) -> None:
    assert interval_seconds(text) == seconds


def test_an_interval_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValueError, match="--interval 'soon'"):
        interval_seconds("soon")
