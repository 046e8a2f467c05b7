"""``supportbot docs set``, ``history`` and the document listing, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli import cli  # noqa: F401 - the fixture

HEAD = (
    "---\ntitle: Travel policy\nurl: https://intranet.example/travel\nowner: ana@example.com\n"
    "effective: 2025-01-01\nreview_by: 2025-06-01\n---\n"
)
OLD = (
    "---\ntitle: Old travel policy\nurl: https://intranet.example/old-travel\n"
    "status: superseded\n---\n# Old travel policy\n\n## Flights\n\n"
    "Business class is allowed on every flight.\n"
)


def _write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text)
    return str(path)


def test_versions_overdue_reviews_and_superseded_policies(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    flights = "# Travel policy\n\n## Flights\n\nBook economy class for flights under six hours.\n"
    travel = _write(tmp_path, "travel.md", HEAD + flights)
    old = _write(tmp_path, "old-travel.md", OLD)
    assert cli("ingest", travel, old).returncode == 0
    assert "unchanged" in cli("ingest", travel).stdout  # no new version either
    hotels = "\n## Hotels\n\nUp to 150 EUR a night.\n"
    _write(tmp_path, "travel.md", HEAD + flights.replace("six", "eight") + hotels)
    assert cli("ingest", travel).returncode == 0

    history = cli("history", "https://intranet.example/travel")
    assert history.returncode == 0, history.stderr
    heading, newest, first = history.stdout.splitlines()
    assert heading.endswith(": 2 versions")
    assert newest.startswith("v2  ")
    assert "+1 ~1 -0 sections  added: Travel policy › Hotels; changed: Travel policy › Flights" in (
        newest
    )
    assert first.startswith("v1  ") and "+1 ~0 -0 sections  added: Travel policy › Flights" in first

    listed = {d["url"]: d for d in json.loads(cli("docs", "--json").stdout)}
    travel_doc = listed["https://intranet.example/travel"]
    assert travel_doc["review_overdue"] is True
    assert (travel_doc["owner"], travel_doc["effective"], travel_doc["review_by"]) == (
        "ana@example.com", "2025-01-01", "2025-06-01"
    )  # fmt: skip
    assert listed["https://intranet.example/old-travel"]["status"] == "superseded"
    assert "REVIEW OVERDUE since 2025-06-01" in cli("docs").stdout

    answer = json.loads(cli("ask", "Can I fly business class?", "--json").stdout.splitlines()[-1])
    assert answer["citations"], answer
    assert all("old-travel" not in c["url"] for c in answer["citations"])
    shown = cli("ask", "Can I fly business class?").stdout
    assert "(updated " in shown and "review overdue)" in shown


def test_docs_set_survives_a_reingest_and_bad_input_is_one_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    travel = _write(tmp_path, "travel.md", HEAD + "# Travel policy\n\n## Flights\n\nEconomy.\n")
    old = _write(tmp_path, "old-travel.md", OLD.replace("status: superseded\n", ""))
    assert cli("ingest", travel, old).returncode == 0
    for args, problem in [
        (["--review-by", "2026-13-01"], "--review-by '2026-13-01' is not a date (YYYY-MM-DD)"),
        (["--status", "archived"], "--status 'archived' is not one of draft, active"),
        (["--supersedes", "https://nowhere.example"], "cannot supersede 'https://nowhere.example'"),
        ([], "give at least one of --owner"),
    ]:
        refused = cli("docs", "set", "Travel policy", *args)
        assert refused.returncode == 1
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert problem in refused.stderr
    unknown = cli("docs", "set", "No such policy", "--owner", "x@example.com")
    assert unknown.returncode == 1 and "no document with id, link or title" in unknown.stderr

    done = cli(
        "docs", "set", "Travel policy", "--owner", "bo@example.com", "--review-by", "2999-01-01",
        "--supersedes", "Old travel policy",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "supersedes https://intranet.example/old-travel" in done.stdout
    _write(tmp_path, "travel.md", HEAD + "# Travel policy\n\n## Flights\n\nBusiness.\n")
    assert "updated" in cli("ingest", travel).stdout
    listed = {d["url"]: d for d in json.loads(cli("docs", "--json").stdout)}
    travel_doc = listed["https://intranet.example/travel"]
    assert (travel_doc["owner"], travel_doc["review_by"]) == ("bo@example.com", "2999-01-01")
    assert travel_doc["review_overdue"] is False
    old_doc = listed["https://intranet.example/old-travel"]
    assert old_doc["status"] == "superseded"
    assert old_doc["superseded_by"] == "https://intranet.example/travel"
    assert "superseded by https://intranet.example/travel" in cli("docs").stdout

    cleared = cli("docs", "set", "Travel policy", "--owner", "", "--clear", "review-by")
    assert cleared.returncode == 0, cleared.stderr
    listed = {d["url"]: d for d in json.loads(cli("docs", "--json").stdout)}
    travel_doc = listed["https://intranet.example/travel"]
    assert (travel_doc["owner"], travel_doc["review_by"]) == (None, None)
