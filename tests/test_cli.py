"""The ``supportbot`` command as a user runs it: a real process against a real database."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_loading import closed_port


def _base_env(database_url: str, home: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SUPPORTBOT_", "OPENAI_")) and key not in {"REDIS_URL"}
    }
    return env | {
        "DATABASE_URL": database_url,
        "SUPPORTBOT_HOME": str(home),
        "SUPPORTBOT_EMBEDDER": "hashing",
        # The hashing embedder's similarities run lower than a real model's.
        "SUPPORTBOT_MIN_SIMILARITY": "0",
        "SUPPORTBOT_ANSWER_MIN_SIMILARITY": "0",
    }


def run(
    *args: str, database_url: str, home: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=_base_env(database_url, home) | (extra_env or {}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def cli(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    def invoke(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return run(*args, database_url=database_url, home=tmp_path, extra_env=env)

    return invoke


def test_ingest_search_list_and_remove_the_sample(cli) -> None:  # type: ignore[no-untyped-def]
    ingested = cli("ingest", "--sample")
    assert ingested.returncode == 0, ingested.stderr
    summary = ingested.stdout.strip().splitlines()[-1]
    assert summary.startswith("Ingested 22 documents (22 added)")

    again = cli("ingest", "--sample")
    assert "(22 unchanged)" in again.stdout

    docs = json.loads(cli("docs", "--json").stdout)
    assert len(docs) == 22
    assert {"id", "title", "url", "scopes", "chunk_count", "version"} <= set(docs[0])

    result = cli("search", "how many days of annual leave do I get", "--json", "--k", "3")
    hits = json.loads(result.stdout)
    assert 0 < len(hits) <= 3
    assert {"doc_id", "title", "section", "url", "text", "score"} <= set(hits[0])
    assert any("annual-leave" in h["url"] for h in hits)

    leave = next(d for d in docs if d["url"].endswith("/annual-leave"))
    assert leave["id"] in {h["doc_id"] for h in hits}
    removed = cli("remove", leave["title"])
    assert removed.returncode == 0
    assert removed.stdout.startswith(f"Removed {leave['title']!r}")
    hits = json.loads(cli("search", "annual leave", "--json").stdout)
    assert hits
    assert leave["id"] not in {h["doc_id"] for h in hits}


def test_batch_search_prints_one_array_per_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("ingest", "--sample")
    queries = tmp_path / "queries.txt"
    queries.write_text("lost laptop\n\nexpenses receipts\nparental leave\n")
    result = cli("search", "--batch", str(queries), "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3
    assert all(isinstance(json.loads(line), list) for line in lines)


def test_restricted_documents_need_their_scope(cli) -> None:  # type: ignore[no-untyped-def]
    cli("ingest", "--sample")
    question = "how does performance calibration work"
    public = json.loads(cli("search", question, "--json", "--k", "10").stdout)
    assert all("performance-reviews" not in h["url"] for h in public)
    hr = json.loads(cli("search", question, "--json", "--scope", "hr").stdout)
    assert any("performance-reviews" in h["url"] for h in hr[:3])


def test_bad_files_fail_alone_with_one_line_each(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "good.md"
    good.write_text("# Good\n\nUseful text.\n")
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"not a pdf")
    result = cli("ingest", str(good), str(bad), "ftp://x.test/a.pdf", "--scope", "hr")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("failed")]
    assert len(errors) == 2
    assert f"{bad}: is not a readable PDF" in errors[0]
    assert "ftp://x.test/a.pdf: unsupported URL scheme" in errors[1]
    assert "Ingested 1 document (1 added); 2 failed" in result.stdout
    docs = json.loads(cli("docs", "--json").stdout)
    assert [(d["title"], d["scopes"]) for d in docs] == [("Good", ["hr"])]


def test_an_unmigrated_database_is_refused(empty_database_url: str, tmp_path: Path) -> None:
    result = run("docs", database_url=empty_database_url, home=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "supportbot: error: the database has no knowledge base schema yet: run `supportbot migrate`"
    )
    migrated = run("migrate", database_url=empty_database_url, home=tmp_path)
    assert migrated.returncode == 0
    assert "upgraded from empty" in migrated.stdout
    assert run("docs", database_url=empty_database_url, home=tmp_path).returncode == 0


def test_a_database_that_is_down_is_one_line(tmp_path: Path) -> None:
    url = f"postgresql://bot:secret@127.0.0.1:{closed_port()}/kb"
    result = run("docs", database_url=url, home=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("supportbot: error: cannot use the database at")
    assert "secret" not in result.stderr


def test_bad_settings_are_named(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("docs", SUPPORTBOT_TOP_K="many")
    assert result.returncode == 1
    assert (
        result.stderr.strip() == "supportbot: error: SUPPORTBOT_TOP_K must be a number, got 'many'"
    )


def test_switching_models_requires_reindex(cli) -> None:  # type: ignore[no-untyped-def]
    cli("ingest", "--sample")
    other = {"SUPPORTBOT_EMBEDDING_DIMENSION": "128"}
    refused = cli("search", "annual leave", **other)
    assert refused.returncode == 1
    assert "run `supportbot reindex`" in refused.stderr
    reindexed = cli("reindex", **other)
    assert reindexed.returncode == 0, reindexed.stderr
    assert reindexed.stdout.startswith("Re-embedded ")
    hits = json.loads(cli("search", "annual leave", "--json", **other).stdout)
    assert hits


def test_ask_json_offline_and_batch(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("ingest", "--sample")
    result = cli("ask", "How many days of annual leave do I get?", "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert {"text", "grounded", "citations", "cached", "model", "latency_ms"} <= set(answer)
    assert answer["grounded"] and answer["model"] == "offline-extractive"
    assert {"n", "doc_id", "title", "section", "url"} <= set(answer["citations"][0])

    questions = tmp_path / "questions.txt"
    questions.write_text("How do I report a lost laptop?\n\nWho approves my expenses?\n")
    batch = cli("ask", "--batch", str(questions), "--json")
    assert batch.returncode == 0, batch.stderr
    answers = [json.loads(line) for line in batch.stdout.strip().splitlines()]
    assert len(answers) == 2 and all(a["grounded"] for a in answers)

    usage = cli("usage")
    assert "answers" in usage.stdout and "3 in the last 30 days" in usage.stdout


def test_demo_loads_the_sample_into_an_empty_database(
    empty_database_url: str, tmp_path: Path
) -> None:
    env = {"SUPPORTBOT_ANSWER_MIN_SIMILARITY": "0"}
    result = run(
        "demo",
        "How many days of annual leave do I get?",
        database_url=empty_database_url,
        home=tmp_path,
        extra_env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Loaded the sample handbook: 22 documents.")
    assert "Sources:" in result.stdout
    again = run("demo", "Who approves expenses?", database_url=empty_database_url, home=tmp_path)
    assert "Loaded the sample" not in again.stdout


async def test_ask_with_an_openai_compatible_model(database_url: str, tmp_path: Path) -> None:
    from tests.fake_openai import fake_openai

    migrated = run("ingest", "--sample", database_url=database_url, home=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    async with fake_openai() as llm:
        llm.default = lambda _body: "You get 25 days of annual leave [1]."
        env = {**_base_env(database_url, tmp_path), "OPENAI_BASE_URL": llm.base_url,
               "OPENAI_API_KEY": "test", "SUPPORTBOT_CHAT_MODEL": "house-model"}  # fmt: skip
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "ask", "How many days of annual leave?", "--json",
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, stderr.decode()
    answer = json.loads(stdout)
    assert answer["text"] == "You get 25 days of annual leave [1]."
    assert answer["model"] == "house-model" and answer["grounded"]
    assert llm.requests[0]["model"] == "house-model"


def test_a_second_ask_on_the_embedded_redis_hits_the_cache(cli) -> None:  # type: ignore[no-untyped-def]
    # No REDIS_URL: each command starts the embedded Redis in its home and stops it on exit.
    assert cli("ingest", "--sample").returncode == 0
    question = "How many days of annual leave do I get?"
    first = cli("ask", question, "--json")
    assert first.returncode == 0, first.stderr
    second = json.loads(cli("ask", question, "--json").stdout)
    assert (json.loads(first.stdout)["cached"], second["cached"]) == (False, True)
    assert second["text"] == json.loads(first.stdout)["text"]
    assert "from cache      1" in cli("usage").stdout


def test_the_terminal_counts_as_its_user_for_the_per_person_limit(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("ingest", "--sample").returncode == 0
    batch = tmp_path / "questions.txt"
    batch.write_text(
        "Who approves expenses?\nHow do I report a lost laptop?\nWhat is the dress code?\n"
    )
    result = cli("ask", "--batch", str(batch), "--json", SUPPORTBOT_QUESTIONS_PER_MINUTE="2")
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["outcome"] == "limited" for a in answers] == [False, False, True]
    assert answers[2]["text"].startswith("Sorry, you've asked me 2 questions in the last minute")
    assert "over a limit    1" in cli("usage").stdout


def test_terminal_chat_keeps_the_thread(database_url: str, tmp_path: Path) -> None:
    assert run("ingest", "--sample", database_url=database_url, home=tmp_path).returncode == 0
    session = "How many days of annual leave do I get?\n\nwhat about sick leave?\n/new\n/quit\n"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        env=_base_env(database_url, tmp_path),
        input=session,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Ask a question about our policies.")
    assert result.stdout.count("Sources:") == 2
    assert "(new conversation)" in result.stdout


def test_a_missing_batch_file_is_named(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "nope.txt"
    for command in ("ask", "search"):
        result = cli(command, "--batch", str(missing))
        assert result.returncode == 1
        assert result.stderr.strip() == f"supportbot: error: {missing}: No such file or directory"
