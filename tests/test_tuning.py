"""Training the house tone: ``supportbot tune export|start|status`` and ``eval --compare``.

The commands run through the real entry point (``bot.cli.main``) against a real Postgres and
Redis, with the real ``openai`` client talking to the loopback fake of the API.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli import main
from bot.core.llm import ChatMessage
from bot.core.prompts import Prompts
from bot.core.writers import answer_prompt
from bot.loop.examples import ApprovedAnswer, PgExampleStore
from bot.loop.feedback import Feedback, PgFeedbackStore
from bot.loop.tuning.export import ExportOptions, export_examples, normalised
from bot.loop.tuning.files import write_atomically
from bot.loop.tuning.scrub import Scrubber
from bot.loop.tuning.vocabulary import knowledge_words
from knowledge.chunking import chunk_document
from knowledge.embedders import HashingEmbedder, Vectors
from knowledge.store import PgDocumentStore
from knowledge.types import Document, ScoredChunk, Section
from tests.documents import policy
from tests.environment import core_environment
from tests.fake_openai import QUOTA_EXCEEDED, FakeOpenAI
from tests.test_loading import closed_port

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
LEAKS = ("priya", "raman", "marcus", "webb", "7946", "0958", "U024BE7LH", "Jean-Luc")

PII_QUESTION = (
    "Hi, I'm Priya Raman (priya.raman@acme.example, +44 20 7946 0958): can Marcus Webb "
    "approve leave I booked in Harbour?"
)
MENTION_QUESTION = "<@U024BE7LH> said <at>Jean-Luc</at> knows: is Cycle to Work open to interns?"
TOPICS = [
    ("When are expense claims paid?", "Expense claims are paid with the next monthly salary [1]."),
    ("Who approves my travel?", "Your line manager approves travel before you book it [1]."),
    ("How do I report a lost laptop?", "Report a lost laptop to the IT desk within a day [1]."),
    ("Can I work from abroad?", "You can work from abroad for up to 20 days a year [1]."),
    ("What is the notice period?", "The notice period is one month in your first year [1]."),
    ("Is there a pension scheme?", "Yes: the company matches pension savings up to 5% [1]."),
    ("How do I claim overtime in Workday?", "Log overtime by the end of the month [1]."),
    ("Do we get a learning budget?", "Everyone has a learning budget of 1,000 pounds [1]."),
    ("When is the office open?", "The office is open from 7am to 8pm on weekdays [1]."),
    ("What is parental leave?", "Birth parents get 26 weeks of fully paid leave [1]."),
]


def source(text_: str, title: str = "Staff Handbook") -> ScoredChunk:
    return ScoredChunk(
        chunk_id=f"chunk-{len(text_)}",
        document_id="handbook",
        title=title,
        section="Policies",
        heading_path=(title, "Policies"),
        url="https://handbook.test/policies",
        text=text_,
        score=1.0,
        similarity=0.8,
    )


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


Supportbot = Callable[..., Awaitable[Run]]


@pytest.fixture
def supportbot(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    database_url: str,
    redis_url: str,
    tmp_path: Path,
) -> Supportbot:
    """``supportbot ARGS`` as a user runs it, with ``env`` added to the test's settings."""

    async def run(*args: str, **env: str) -> Run:
        for key in list(os.environ):
            if key.startswith(("SUPPORTBOT_", "OPENAI_")) or key in {"DATABASE_URL", "REDIS_URL"}:
                monkeypatch.delenv(key)
        settings = core_environment(
            database_url=database_url,
            redis_url=redis_url,
            SUPPORTBOT_HOME=str(tmp_path / "home"),
            SUPPORTBOT_COMPANY_NAME="Acme",
            SUPPORTBOT_LLM_MAX_RETRIES="0",
            **env,
        )
        for key, value in settings.items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            await asyncio.to_thread(main, list(args))
        captured = capsys.readouterr()
        return Run(int(exited.value.code or 0), captured.out, captured.err)

    return run


def api(fake: FakeOpenAI) -> dict[str, str]:
    return {"OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": "sk-test"}


class Examples:
    """Approved answers put where the product keeps them: voted (with 👍) and admin answers."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._store = PgExampleStore(engine)
        self._votes = PgFeedbackStore(engine)
        self._count = 0

    async def voted(
        self,
        question: str,
        answer: str,
        *sources: ScoredChunk,
        vote: int = 1,
        scopes: tuple[str, ...] = ("public",),
    ) -> None:
        self._count += 1
        answer_id = f"answer-{self._count}"
        await self._store.keep_voted(
            answer_id=answer_id,
            question=question,
            sources=sources
            or (
                source(
                    answer.removesuffix(" [1]."),
                ),
            ),
            answer=answer,
            model="gpt-4o-mini",
            scopes=scopes,
        )
        await self._votes.record(Feedback(answer_id, 1 if vote > 0 else -1, "voter", "slack"))

    async def admin(self, question: str, answer: str) -> None:
        async with self._engine.begin() as connection:
            gap_id = (
                await connection.execute(
                    text(
                        "INSERT INTO gaps (question, reason, scopes) "
                        "VALUES (:question, 'declined', ARRAY['public']) RETURNING id"
                    ),
                    {"question": question},
                )
            ).scalar_one()
        await self._store.keep_admin(
            gap_id=gap_id,
            question=question,
            sources=(
                source(
                    answer.removesuffix(" [1]."),
                ),
            ),
            answer=answer,
            scopes=("public",),
        )


async def seed(engine: AsyncEngine) -> Examples:
    """Fourteen distinct approved answers, two near-duplicates and one 👎 answer."""
    examples = Examples(engine)
    for question, answer in TOPICS:
        await examples.voted(question, answer)
    await examples.voted(
        PII_QUESTION,
        "Your line manager approves leave booked in Harbour [1].",
        source("Your line manager approves leave. Book leave in Harbour.", "Annual Leave Policy"),
    )
    await examples.voted(
        MENTION_QUESTION,
        "Cycle to Work is open to everyone on the payroll [1].",
        source("Cycle to Work is open to everyone on the payroll."),
    )
    # Near-duplicates: the same words but for case and punctuation, and a one-word change
    # (embeddings alike). The admin answer wins over the newer vote, the newer vote over the older.
    await examples.voted("How many days of annual leave do I get?", "OLD: 25 days [1].")
    await examples.voted("how many days of annual leave do I get??", "NEW: 25 days [1].")
    await examples.admin(
        "How many days of paid annual leave do I get each year if I join mid year?",
        "ADMIN: 25 days a year, pro rata in the first year [1].",
    )
    await examples.voted(
        "How many days of paid annual leave do I get each calendar year if I join mid year?",
        "VOTED: 25 days [1].",
    )
    await examples.voted("Can I expense a gym membership?", "DOWNVOTED: yes [1].", vote=-1)
    return examples


def chat_lines(path: Path) -> list[list[dict[str, Any]]]:
    return [json.loads(line)["messages"] for line in path.read_text().splitlines()]


def asked(messages: list[dict[str, Any]]) -> str:
    return str(messages[1]["content"]).rpartition("\nQuestion: ")[2].strip()


async def test_export_writes_scrubbed_chat_examples_with_a_stable_held_out_split(
    supportbot: Supportbot, engine: AsyncEngine, tmp_path: Path
) -> None:
    # "Workday" is a word of the knowledge base only: the name scrubber must keep it.
    store = PgDocumentStore(engine, HashingEmbedder(384))
    document = policy(sections={"Overtime": "Log overtime in Workday by month end."})
    await store.upsert(document, chunk_document(document))
    await seed(engine)
    out = tmp_path / "train.jsonl"
    result = await supportbot("tune", "export", str(out))
    assert result.code == 0, result.err
    validation = tmp_path / "train.validation.jsonl"
    assert str(out) in result.out and str(validation) in result.out

    assert result.out.splitlines() == [
        f"Wrote 13 training examples to {out}",
        f"  and 1 held-out example to {validation}",
        "  from 16 approved answers (2 near-duplicates left out).",
        "Personal details were replaced in 2 questions ([email], [phone], [name]); read the "
        "files before uploading them.",
        "Next: supportbot tune start",
    ]
    training, held_out = chat_lines(out), chat_lines(validation)
    assert (len(training), len(held_out)) == (13, 1)
    prompts = Prompts.load()
    for messages in training + held_out:
        assert [m["role"] for m in messages] == ["system", "user", "assistant"]
        assert set(messages[0]) == {"role", "content"}
        assert messages[0]["content"] == prompts.system.substitute(
            company="Acme", style=prompts.style
        )
        assert messages[1]["content"].startswith('Sources:\n\n<source n="1" title=')
    by_question = {asked(m): m[2]["content"] for m in training + held_out}

    # Near-duplicates once: admin first, then the newest; 👎 answers never.
    answers = sorted(by_question.values())
    assert [a.split(":")[0] for a in answers if a.split(":")[0].isupper()] == ["ADMIN", "NEW"]
    assert not any("DOWNVOTED" in a for a in answers)
    assert "How many days of annual leave do I get?" not in by_question  # the older, same words
    assert "how many days of annual leave do I get??" in by_question

    # The question, as it went out, with its personal details replaced.
    assert (
        "Hi, I'm [name] ([email], [phone]): can [name] approve leave I booked in Harbour?"
        in by_question
    )
    assert "[name] said [name] knows: is Cycle to Work open to interns?" in by_question
    assert "How do I claim overtime in Workday?" in by_question  # a word of the documents
    for path in (out, validation):
        content = path.read_text()
        assert not EMAIL.search(content), path
        assert not any(leak.lower() in content.lower() for leak in LEAKS), path
    # The user message is exactly the prompt the bot answers from.
    pii = next(m for m in training + held_out if asked(m).startswith("Hi, I'm [name]"))
    expected = answer_prompt(
        prompts,
        company="Acme",
        question=asked(pii),
        sources=[
            source(
                "Your line manager approves leave. Book leave in Harbour.", "Annual Leave Policy"
            )
        ],
    )
    assert pii[1]["content"] == expected[1].content

    # Exported again, each example stays on its side of the split.
    again = await supportbot("tune", "export", str(tmp_path / "again.jsonl"))
    assert again.code == 0, again.err
    assert (tmp_path / "again.validation.jsonl").read_text() == validation.read_text()
    assert (tmp_path / "again.jsonl").read_text() == out.read_text()


async def test_export_leaves_out_examples_written_from_restricted_documents(
    supportbot: Supportbot, engine: AsyncEngine, tmp_path: Path
) -> None:
    examples = await seed(engine)
    await examples.voted(
        "When are salary bands reviewed?",
        "Salary bands are reviewed every April [1].",
        source("Salary bands are reviewed every April.", "Salary Bands"),
        scopes=("hr",),
    )
    everyone = await supportbot("tune", "export", str(tmp_path / "everyone.jsonl"))
    assert everyone.code == 0, everyone.err
    assert (
        "  from 16 approved answers (2 near-duplicates left out; 1 more left out as restricted "
        "to other scopes)." in everyone.out.splitlines()
    )
    written = (tmp_path / "everyone.jsonl").read_text() + (
        tmp_path / "everyone.validation.jsonl"
    ).read_text()
    assert "salary bands" not in written.lower()

    hr = await supportbot("tune", "export", str(tmp_path / "hr.jsonl"), "--scopes", "hr")
    assert hr.code == 0, hr.err
    written = (tmp_path / "hr.jsonl").read_text() + (tmp_path / "hr.validation.jsonl").read_text()
    assert "reviewed every April [1]." in written


async def test_export_scrubs_answers_and_admins_answers_among_the_sources(tmp_path: Path) -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    admin_source = dataclasses.replace(
        source("Ask Priya Raman (priya@acme.example) in HR before you book."),
        url="supportbot:answers/7",
        title="Can Zoë book leave for JOHN SMITH?",
        heading_path=("Can Zoë book leave for JOHN SMITH?",),
    )
    result = await export_examples(
        [
            ApprovedAnswer(
                "admin",
                "Can Zoë book leave for JOHN SMITH?",
                (admin_source,),
                "Ask Priya Raman (priya@acme.example) in HR before you book [1].",
                when,
            ),
            ApprovedAnswer(
                "voted",
                "How many days of leave?",
                (source("Everyone gets 25 days of leave."),),
                "Hi José, everyone gets 25 days of leave [1].",
                when,
            ),
        ],
        ExportOptions(tmp_path / "t.jsonl", Prompts.load(), "Acme", min_examples=2),
        known_words=("Everyone", "leave", "book", "HR"),
        embedder=OrthogonalEmbedder(),
    )
    assert (result.scrubbed, result.scrubbed_answers) == (1, 2)
    written = result.training.read_text() + result.validation.read_text()
    for leak in ("Priya", "Raman", "priya@", "Zoë", "JOHN", "SMITH", "José"):
        assert leak not in written, leak
    assert "Ask [name] ([email]) in HR before you book [1]." in written
    assert "Hi [name], everyone gets 25 days of leave [1]." in written


async def test_words_of_admins_answers_are_not_taken_for_the_documents_words(
    engine: AsyncEngine,
) -> None:
    store = PgDocumentStore(engine, HashingEmbedder(384))
    handbook = policy(sections={"Overtime": "Log overtime in Workday by month end."})
    answer = Document(
        title="Who signs off my leave?", url="supportbot:answers/1", source="supportbot:answers/1",
        format="answer", sections=(Section((), "Ask Priya Raman in the People Team."),),
    )  # fmt: skip
    for document in (handbook, answer):
        await store.upsert(document, chunk_document(document))
    words = await knowledge_words(engine)
    assert "Workday" in words and not {"Priya", "Raman"} & words


async def test_too_few_examples_are_refused_and_nothing_is_written(
    supportbot: Supportbot, engine: AsyncEngine, tmp_path: Path
) -> None:
    examples = Examples(engine)
    for question, answer in TOPICS:
        await examples.voted(question, answer)
    await examples.voted("When is the office open??", "Again: 7am to 8pm [1].")
    await examples.voted("WHEN is the office open", "And again [1].")
    out = tmp_path / "exports" / "train.jsonl"
    out.parent.mkdir()

    refused = await supportbot("tune", "export", str(out))
    assert refused.code == 1
    assert refused.out == ""
    assert refused.err.splitlines() == [
        "supportbot: error: only 10 distinct approved answers to train on (2 near-duplicates "
        "left out of 12); at least 12 are needed (10 to train on and 2 to hold out). Get more "
        "with 👍 on good answers in Slack or Teams, and by answering the open gaps; nothing "
        "was written"
    ]
    assert list(out.parent.iterdir()) == []

    fewer = await supportbot("tune", "export", str(out), "--min-examples", "20")
    assert fewer.code == 1
    assert "only 12 approved answers to train on; at least 20 are needed" in fewer.err
    assert list(out.parent.iterdir()) == []
    assert not (tmp_path / "home" / "tune" / "state.json").exists()

    # What is there is enough when the team asks for less.
    enough = await supportbot("tune", "export", str(out), "--min-examples", "10")
    assert enough.code == 0, enough.err
    assert len(chat_lines(out)) + len(chat_lines(out.with_name("train.validation.jsonl"))) == 10


async def test_export_holds_one_out_at_least_and_never_leaves_half_a_export(
    supportbot: Supportbot, engine: AsyncEngine, tmp_path: Path
) -> None:
    await seed(engine)
    out = tmp_path / "train.jsonl"
    tiny = await supportbot("tune", "export", str(out), "--validation-share", "0.0001")
    assert tiny.code == 0, tiny.err
    assert (len(chat_lines(out)), len(chat_lines(tmp_path / "train.validation.jsonl"))) == (13, 1)
    # However much is asked to be held out, ten stay to train on (OpenAI's minimum).
    most = await supportbot("tune", "export", str(out), "--validation-share", "0.9")
    assert most.code == 0, most.err
    assert (len(chat_lines(out)), len(chat_lines(tmp_path / "train.validation.jsonl"))) == (10, 4)

    # The held-out file cannot take its name: the training file must not appear alone.
    exports = tmp_path / "exports"
    (exports / "train.validation.jsonl").mkdir(parents=True)
    blocked = await supportbot("tune", "export", str(exports / "train.jsonl"))
    assert blocked.code == 1
    assert blocked.err.splitlines() == [
        f"supportbot: error: {exports / 'train.validation.jsonl'}: Is a directory"
    ]
    assert [p.name for p in exports.iterdir()] == ["train.validation.jsonl"]
    assert list((exports / "train.validation.jsonl").iterdir()) == []


async def test_tune_start_uploads_both_files_and_starts_a_job(
    supportbot: Supportbot, engine: AsyncEngine, tmp_path: Path, llm: FakeOpenAI
) -> None:
    await seed(engine)
    out = tmp_path / "train.jsonl"
    assert (await supportbot("tune", "export", str(out))).code == 0

    started = await supportbot(
        "tune", "start", "--base-model", "gpt-4.1-mini-2025-04-14", **api(llm)
    )
    assert started.code == 0, started.err
    uploads = llm.uploads
    assert [u.purpose for u in uploads.values()] == ["fine-tune", "fine-tune"]
    contents = {u.content for u in uploads.values()}
    assert contents == {out.read_bytes(), (tmp_path / "train.validation.jsonl").read_bytes()}
    [job] = llm.jobs.values()
    training_id = next(i for i, u in uploads.items() if u.content == out.read_bytes())
    validation_id = next(i for i in uploads if i != training_id)
    assert job.request == {
        "model": "gpt-4.1-mini-2025-04-14",
        "training_file": training_id,
        "validation_file": validation_id,
        "suffix": "supportbot",
    }
    assert f"Uploaded {out} as {training_id}." in started.out
    assert f"Started fine-tuning job {job.id} on gpt-4.1-mini-2025-04-14." in started.out
    assert "Run `supportbot tune status` to follow it." in started.out


async def test_status_follows_the_job_until_the_tuned_model_is_ready(
    supportbot: Supportbot, engine: AsyncEngine, tmp_path: Path, llm: FakeOpenAI
) -> None:
    await seed(engine)
    assert (await supportbot("tune", "export", str(tmp_path / "train.jsonl"))).code == 0
    started = await supportbot("tune", "start", **api(llm))
    assert started.code == 0, started.err
    [job] = llm.jobs.values()
    assert job.request["model"] == "gpt-4o-mini-2024-07-18"  # SUPPORTBOT_TUNE_BASE_MODEL

    queued = await supportbot("tune", "status", **api(llm))
    assert queued.code == 0, queued.err
    assert re.search(r"^status +queued$", queued.out, re.MULTILINE)
    assert re.search(r"^base model +gpt-4o-mini-2024-07-18$", queued.out, re.MULTILINE)
    assert "Fine-tuning job queued" in queued.out and "Still working" in queued.out
    assert "SUPPORTBOT_CHAT_MODEL" not in queued.out

    running = await supportbot("tune", "status", **api(llm))
    assert running.code == 0
    assert re.search(r"^status +running$", running.out, re.MULTILINE)
    events = [line for line in running.out.splitlines() if line.startswith("  20")]
    assert [e.split(maxsplit=3)[3] for e in events] == [
        f"Created fine-tuning job: {job.id}",
        f"Validating training file: {job.request['training_file']}",
        "Fine-tuning job queued",
        "Fine-tuning job started",
    ]

    done = await supportbot("tune", "status", **api(llm))
    assert done.code == 0
    assert re.search(r"^status +succeeded$", done.out, re.MULTILINE)
    assert re.search(r"^trained tokens +12,345$", done.out, re.MULTILINE)
    tuned = f"ft:gpt-4o-mini-2024-07-18:supportbot:{job.id[-4:]}"
    assert f"  SUPPORTBOT_CHAT_MODEL={tuned}" in done.out.splitlines()
    assert f"supportbot eval --compare gpt-4o-mini-2024-07-18 {tuned}" in done.out


async def test_a_failed_job_is_reported_with_the_apis_reason(
    supportbot: Supportbot, engine: AsyncEngine, tmp_path: Path, llm: FakeOpenAI
) -> None:
    await seed(engine)
    assert (await supportbot("tune", "export", str(tmp_path / "train.jsonl"))).code == 0
    llm.job_steps = ["running", "failed"]
    llm.job_error = {
        "code": "invalid_training_file",
        "message": "Training file has 3 examples with an assistant message over the token limit.",
        "param": "training_file",
    }
    assert (await supportbot("tune", "start", **api(llm))).code == 0
    [job_id] = llm.jobs
    assert (await supportbot("tune", "status", job_id, **api(llm))).code == 0
    failed = await supportbot("tune", "status", job_id, **api(llm))
    assert failed.code == 1
    assert re.search(r"^status +failed$", failed.out, re.MULTILINE)
    assert (
        "The job failed: Training file has 3 examples with an assistant message over the "
        "token limit." in failed.out.splitlines()
    )
    assert "SUPPORTBOT_CHAT_MODEL" not in failed.out


async def test_api_errors_are_one_plain_line(
    supportbot: Supportbot, engine: AsyncEngine, tmp_path: Path, llm: FakeOpenAI
) -> None:
    await seed(engine)
    assert (await supportbot("tune", "export", str(tmp_path / "train.jsonl"))).code == 0

    unknown = await supportbot("tune", "start", "--base-model", "gpt-9-turbo", **api(llm))
    assert (unknown.code, unknown.err.splitlines()) == (
        1,
        [
            "supportbot: error: starting a fine-tuning job on gpt-9-turbo failed: HTTP 400 "
            "(model_not_available): Model gpt-9-turbo is not available for fine-tuning or does "
            "not exist."
        ],
    )
    llm.job_failures = [QUOTA_EXCEEDED]
    quota = await supportbot("tune", "start", **api(llm))
    assert (quota.code, quota.err.splitlines()) == (
        1,
        [
            "supportbot: error: starting a fine-tuning job on gpt-4o-mini-2024-07-18 failed: "
            "HTTP 429 (insufficient_quota): You exceeded your current quota, please check your "
            "plan and billing details."
        ],
    )
    assert not llm.jobs
    assert (await supportbot("tune", "status", **api(llm))).err.splitlines() == [
        "supportbot: error: no fine-tuning job started yet: run `supportbot tune start`, or give "
        "a JOB_ID"
    ]

    junk = tmp_path / "junk.jsonl"
    junk.write_text('{"prompt": "old completion format", "completion": "no"}\n')
    bad_file = await supportbot("tune", "start", "--file", str(junk), **api(llm))
    assert (bad_file.code, bad_file.err.splitlines()) == (
        1,
        [
            f"supportbot: error: uploading {junk} failed: HTTP 400 (invalid_file_format): "
            "Invalid file format for Fine-Tuning API: line 1 is not a JSON object with a "
            "'messages' list."
        ],
    )

    missing = await supportbot("tune", "status", "ftjob-nope", **api(llm))
    assert missing.err.splitlines() == [
        "supportbot: error: reading fine-tuning job ftjob-nope failed: HTTP 404: No such "
        "fine-tuning job"
    ]
    down = f"http://127.0.0.1:{closed_port()}/v1"
    unreachable = await supportbot("tune", "start", OPENAI_BASE_URL=down, OPENAI_API_KEY="k")
    assert unreachable.code == 1
    [line] = unreachable.err.splitlines()
    assert line.startswith(
        f"supportbot: error: uploading {tmp_path / 'train.jsonl'} failed: cannot reach "
        f"{down}/files: "
    )
    for command in (
        ("tune", "start"),
        ("tune", "status", "ftjob-1"),
        ("eval", "--compare", "a", "b"),
    ):
        unset = await supportbot(*command)
        assert (unset.code, unset.err.splitlines()) == (
            1,
            [
                "supportbot: error: fine-tuning and comparing models need an OpenAI-compatible "
                "API: set OPENAI_API_KEY (and OPENAI_BASE_URL for an endpoint other than OpenAI's)"
            ],
        )
    # Each refused job had uploaded its two files first; the junk file was refused.
    assert len(llm.uploads) == 4


def held_out_file(path: Path, examples: list[tuple[str, str]]) -> Path:
    prompts = Prompts.load()
    lines = []
    for question, answer in examples:
        prompt = answer_prompt(
            prompts,
            company="Acme",
            question=question,
            sources=[source(answer), source("Other policies apply too.")],
        )
        chat = [*prompt, ChatMessage("assistant", answer)]
        lines.append(
            json.dumps({"messages": [{"role": m.role, "content": m.content} for m in chat]})
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def table_row(table: str, label: str) -> list[str]:
    line = next(line for line in table.splitlines() if line.startswith(f"  {label}  "))
    return re.split(r" {2,}", line.strip())[1:]


def scripted_models(body: dict[str, Any]) -> str | int:
    prompt = body["messages"][-1]["content"]
    if body["model"] == "judge-model":
        answer = prompt.rpartition("Assistant's answer: ")[2]
        return "CORRECT" if "[1]" in answer else "INCORRECT"
    question = prompt.rpartition("\nQuestion: ")[2]
    if body["model"] == "house-a":
        return "You get this from the policy [1], and more [2]."
    if "laptop" in question:
        return 500
    if "leave" in question:
        return "NOT_COVERED"
    if "travel" in question:
        return "Hi there! Your line manager approves it [3]. I hope this helps."
    return "Hello! With the next salary."


async def test_compare_puts_two_models_side_by_side(
    supportbot: Supportbot, engine: AsyncEngine, tmp_path: Path, llm: FakeOpenAI
) -> None:
    held_out = held_out_file(
        tmp_path / "held-out.jsonl",
        [
            ("How many days of annual leave do I get?", "25 days a year [1]."),
            ("How do I report a lost laptop?", "Tell the IT desk within a day [1]."),
            ("Who approves my travel?", "Your line manager [1]."),
            ("When are expenses paid?", "With the next salary [1]."),
        ],
    )
    llm.default = scripted_models
    result = await supportbot(
        "eval", "--compare", "house-a", "house-b", "--held-out", str(held_out),
        "--judge-model", "judge-model", **api(llm),
    )  # fmt: skip
    assert result.code == 0, result.err
    table = result.out
    assert table.startswith(
        f"4 held-out examples from {held_out}; correctness judged by llm:judge-model"
    )
    header = next(line for line in table.splitlines() if "house-a" in line)
    assert header.split() == ["house-a", "house-b"]
    assert table_row(table, "answered") == ["4/4 (100%)", "2/4 (50%)"]
    assert table_row(table, "valid citations") == ["4/4 (100%)", "0/4 (0%)"]
    assert table_row(table, "correct") == ["4/4 (100%)", "0/4 (0%)"]
    assert table_row(table, "house tone ok (of answered)") == ["4/4 (100%)", "0/2 (0%)"]
    assert table_row(table, "most common tone problem") == ["-", "greeting (2)"]
    assert table_row(table, "total tokens") == ["480", "360"]
    assert table_row(table, "errors") == ["0", "1"]
    assert all(cell.endswith(" ms") for cell in table_row(table, "mean latency"))
    assert result.err.splitlines() == ["house-b, example 2: the model answered HTTP 500"]
    # The judge saw the question, the approved answer and the model's.
    judged = [r["messages"][0]["content"] for r in llm.requests if r["model"] == "judge-model"]
    assert (
        "Question: Who approves my travel?\n\nReference answer: Your line manager [1].\n\n"
        "Assistant's answer: You get this from the policy [1], and more [2]."
    ) in "\n".join(judged)
    # Each model saw the exact prompt of each example.
    sent = [r for r in llm.requests if r["model"] == "house-a"]
    expected = [json.loads(line)["messages"][:2] for line in held_out.read_text().splitlines()]
    assert [r["messages"] for r in sent] == expected

    # Without --held-out: the last export's held-out file.
    await seed(engine)
    assert (await supportbot("tune", "export", str(tmp_path / "train.jsonl"))).code == 0
    default = await supportbot("eval", "--compare", "house-a", "house-b", **api(llm))
    assert default.code == 0, default.err
    assert f"from {tmp_path / 'train.validation.jsonl'};" in default.out.splitlines()[0]


async def test_commands_say_what_is_missing_or_does_not_go_together(
    supportbot: Supportbot, llm: FakeOpenAI, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.jsonl"
    cases = {
        ("eval",): "give a DATASET (a JSON Lines file, a public set's folder, or 'sample'), "
        "or --compare",
        ("eval", "sample", "--compare", "a", "b"): "give either DATASET or --compare MODEL_A "
        "MODEL_B, not both",
        ("eval", "--compare", "a", "b", "--k", "3", "--json"): "--compare takes no --k, --json: "
        "they are for a DATASET run",
        ("eval", "sample", "--held-out", "x.jsonl"): "--held-out goes with --compare MODEL_A "
        "MODEL_B",
        ("eval", "--compare", "a", "b"): "no held-out examples yet: run `supportbot tune export "
        "OUT.jsonl`, or give --held-out",
        ("tune", "export", "x.jsonl", "--validation-share", "1"): "--validation-share must be "
        "between 0 and 1, and --min-examples at least 2",
        ("tune", "start"): "nothing to upload yet: run `supportbot tune export OUT.jsonl` first, "
        "or give --file",
        ("tune", "start", "--file", str(missing)): f"{missing}: no such file "
        "(run `supportbot tune export OUT.jsonl` again, or give --file)",
    }
    for args, message in cases.items():
        result = await supportbot(*args, **api(llm))
        assert (result.code, result.err.splitlines()) == (1, [f"supportbot: error: {message}"])
    assert llm.requests == []


# ---- the export's parts ----------------------------------------------------------------------


class OrthogonalEmbedder:
    """Every text far from every other: only the words' comparison can find duplicates."""

    model, dimension = "orthogonal", 64

    async def embed(self, texts: Sequence[str]) -> Vectors:
        return np.eye(len(texts), self.dimension, dtype=np.float32)


async def test_the_same_words_are_one_question_whatever_the_embeddings_say(
    tmp_path: Path,
) -> None:
    def approved(question: str, answer: str, day: int) -> ApprovedAnswer:
        when = datetime(2026, 1, day, tzinfo=UTC)
        return ApprovedAnswer("voted", question, (source(answer),), answer, when)

    result = await export_examples(
        [
            approved("How many days of leave?", "first [1].", 1),
            approved("  how MANY days, of leave ?! ", "second [1].", 2),
            approved("Who approves travel?", "travel [1].", 3),
        ],
        ExportOptions(tmp_path / "t.jsonl", Prompts.load(), "Acme", min_examples=2),
        known_words=(),
        embedder=OrthogonalEmbedder(),
    )
    assert (result.approved, result.duplicates) == (3, 1)
    exported = chat_lines(result.training) + chat_lines(result.validation)
    assert sorted(m[2]["content"] for m in exported) == ["second [1].", "travel [1]."]
    assert normalised("  how MANY days, of leave ?! ") == "how many days of leave"


def test_a_failed_write_leaves_no_file_behind(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomically({tmp_path / "a.jsonl": "a\n", tmp_path / "missing" / "b.jsonl": "b\n"})
    assert list(tmp_path.iterdir()) == []


# ---- the scrubber ---------------------------------------------------------------------------

SCRUBBER = Scrubber.from_words(["Harbour", "Workday", "Leave", "Policy", "leave", "Cycle", "Work"])


@pytest.mark.parametrize(
    ("question", "scrubbed"),
    [
        ("Mail priya.raman@acme.example or p_r+hr@mail.acme.co.uk", "Mail [email] or [email]"),
        ("Call +44 (0)20 7946 0958 or (020) 7946-0958.", "Call [phone] or [phone]."),
        ("(call +44 20 7946 0958)", "(call [phone])"),
        ("My number is 0049 30 1234567, ext 555-1234", "My number is [phone], ext [phone]"),
        ("Leave from 2024-05-01 to 12/05/2024, 25 days, 1,000 pounds", None),
        ("<@U024BE7LH|priya> and <@W12AB> asked", "[name] and [name] asked"),
        ("<at>Jean-Luc Picard</at> said so", "[name] said so"),
        ("Ask @marcus.webb about it", "Ask [name] about it"),
        ("<mailto:a@b.example|a@b.example> or <tel:+4420794609|020 7946 09>", "[email] or [phone]"),
        (
            "Can Marcus Webb approve leave booked in Harbour?",
            "Can [name] approve leave booked in Harbour?",
        ),
        (
            "Priya said Workday is down. Is O'Brien's claim in Workday?",
            "[name] said Workday is down. Is [name]'s claim in Workday?",
        ),
        ("Is Cycle to Work open? Hi Anna, thanks!", "Is Cycle to Work open? Hi [name], thanks!"),
        ("Leave: can I use the VPN and HR tools on Monday in May?", None),
        ("How many days of annual leave do I get?", None),
        # Names in any alphabet, and names in capitals; acronyms without a vowel stay.
        (
            "Can Zoë approve leave booked by Łukasz or José?",
            "Can [name] approve leave booked by [name] or [name]?",
        ),
        ("Ask Søren Ødegård, Ægir or Μαρία", "Ask [name], [name] or [name]"),
        (
            "Is JOHN SMITH on leave? HR said the VPN is down.",
            "Is [name] on leave? HR said the VPN is down.",
        ),
        ("ZOË ŁUKASIEWICZ booked leave", "[name] booked leave"),
        ("How MANY days of leave?", None),
    ],
)
def test_the_scrubber_replaces_personal_details(question: str, scrubbed: str | None) -> None:
    assert SCRUBBER.scrub(question) == (scrubbed or question)


def test_the_scrubber_keeps_capitalised_words_only_as_the_documents_use_them() -> None:
    # Mid-sentence a capital marks a proper noun: the documents must use the word capitalised.
    assert SCRUBBER.scrub("Is my Leave Policy the same as the Work one?") == (
        "Is my Leave Policy the same as the Work one?"
    )
    assert SCRUBBER.scrub("Did Harbour reject it?") == "Did Harbour reject it?"
    lower_only = Scrubber.from_words(["harbour"])
    assert lower_only.scrub("Did Harbour reject it?") == "Did [name] reject it?"
    assert lower_only.scrub("Harbour rejected it.") == "Harbour rejected it."
