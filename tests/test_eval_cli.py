"""``supportbot eval`` as a user runs it: a real process, a real database, a loopback LLM.

The last tests are the quality guard: the bundled model on the public ConditionalQA set and on
the sample handbook, failing if evidence hit@5 or abstention drops below the floors below
(each set just under what the product measured; README, "Evaluation").
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.coverage import CoverageModel
from bot.core.quoting import QuotingModel
from knowledge.ranking import RankingModel
from tests.fake_openai import FakeOpenAI, fake_openai
from tests.public_sets import PUBLIC_SETS

CONDITIONALQA = PUBLIC_SETS / "conditionalqa-govuk"

# Floors for the guard: measured figures (README) minus a little room.
CONDITIONALQA_EVIDENCE_HIT_FLOOR = 0.96  # measured 0.974 with the asker's situation
CONDITIONALQA_QUESTION_ONLY_FLOOR = 0.84  # measured 0.852 with the question alone
SAMPLE_EVIDENCE_HIT_FLOOR = 0.88  # measured 0.912
SAMPLE_ABSTENTION_FLOOR = 0.45  # measured 0.500 (4 of 8) with the offline writer

LEAVE = """---
title: Annual Leave Policy
url: https://handbook.example/annual-leave
---
# Annual Leave Policy

## Entitlement

Everyone gets 25 days of annual leave a year, plus public holidays.

## Booking leave

Book leave in Harbour at least two weeks before it starts.
"""

EXPENSES = """---
title: Expenses Policy
url: https://handbook.example/expenses
---
# Expenses Policy

## Receipts

Submit receipts for every expense within 30 days through the expenses portal.
"""

QUESTIONS = [
    {
        "id": "leave-days",
        "question": "How many days of annual leave does everyone get?",
        "expected_answer": "25 days of annual leave a year plus public holidays",
        "gold_documents": ["leave.md"],
        "gold_evidence": ["Everyone gets 25 days of annual leave a year, plus public holidays."],
    },
    {
        "id": "receipts",
        "question": "When do I submit receipts for an expense?",
        "context": "I bought a train ticket for a client visit.",
        "expected_answer": "Within 30 days, through the expenses portal",
        "gold_documents": ["expenses.md"],
        "gold_evidence": ["Submit receipts for every expense within 30 days"],
    },
    {
        "id": "booking",
        "question": "and how early do I book it in Harbour?",
        "history": [{"role": "user", "text": "How much annual leave do I get?"}],
        "expected_answer": "At least two weeks before it starts",
        "gold_documents": ["https://handbook.example/annual-leave"],
        "gold_evidence": ["Book leave in Harbour at least two weeks before it starts."],
    },
    {"id": "pension", "question": "Who is the pension provider?", "answerable": False},
]


def _env(database_url: str, home: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SUPPORTBOT_", "OPENAI_")) and key != "REDIS_URL"
    }
    return env | {"DATABASE_URL": database_url, "SUPPORTBOT_HOME": str(home)} | extra


def _hashing_env(database_url: str, home: Path, **extra: str) -> dict[str, str]:
    return _env(
        database_url,
        home,
        SUPPORTBOT_EMBEDDER="hashing",
        SUPPORTBOT_MIN_SIMILARITY="0",
        SUPPORTBOT_ANSWER_MIN_SIMILARITY="0.1",
        **extra,
    )


async def _eval(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "eval", *args,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 900)
    return subprocess.CompletedProcess(
        args, process.returncode or 0, stdout.decode(), stderr.decode()
    )


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "leave.md").write_text(LEAVE)
    (docs / "expenses.md").write_text(EXPENSES)
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    return path


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("supportbot: error:")]


async def _documents_in(database_url: str) -> int:
    async with await psycopg.AsyncConnection.connect(database_url) as connection:
        row = await (await connection.execute("SELECT count(*) FROM documents")).fetchone()
    return int(row[0]) if row else -1


async def test_offline_run_prints_every_figure_and_writes_a_report(
    database_url: str, tmp_path: Path, dataset: Path
) -> None:
    report = tmp_path / "report.html"
    result = await _eval(
        str(dataset), "--json", "--html", str(report), env=_hashing_env(database_url, tmp_path)
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["run"]["questions"] == 4 and summary["run"]["answer_model"].startswith("offline")
    retrieval, answers, cost = summary["retrieval"], summary["answers"], summary["cost"]
    assert retrieval["questions_with_evidence"] == 3
    assert retrieval["evidence_hit_at_k"] == 1.0 and retrieval["doc_recall_at_k"] == 1.0
    assert answers["answerable"] == 3 and answers["unanswerable"] == 1
    assert answers["grounded_rate"] == 1.0 and answers["judged_by"] == "lexical"
    assert answers["tone_conformance"] == 1.0
    assert cost["latency_p95_ms"] >= cost["latency_p50_ms"] > 0
    assert cost["prompt_tokens_per_question"] == 0
    conversation = summary["conversation"]
    # "booking" is a follow-up; "receipts" is asked after "leave-days" (other documents).
    assert conversation["follow_ups"] == 1 and conversation["follow_up_evidence_hit_at_k"] == 1.0
    assert conversation["new_topics"] == 1 and conversation["new_topics_as_alone"] == 1.0
    page = report.read_text()
    assert "new topic searched as if asked alone" in page
    assert all(q["id"] in page for q in QUESTIONS)
    # The evaluation has a database of its own: the configured one gains nothing.
    assert await _documents_in(database_url) == 0


async def test_table_output_and_question_only_mode(
    database_url: str, tmp_path: Path, dataset: Path
) -> None:
    result = await _eval(
        str(dataset), "--without-context", "--k", "3", env=_hashing_env(database_url, tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert "evidence hit@3" in result.stdout and "context          off" in result.stdout
    results = tmp_path / "eval" / "questions-question-only.jsonl"
    asked = [json.loads(line)["asked"] for line in results.read_text().splitlines()]
    assert "When do I submit receipts for an expense?" in asked  # no situation prepended


def _model(fake: FakeOpenAI) -> None:
    def reply(body: dict[str, Any]) -> str:
        prompt = body["messages"][-1]["content"]
        if prompt.startswith("You are grading"):
            return "CORRECT"
        if "Employee:" in prompt:
            return "How early do I book annual leave in Harbour?"
        if "pension" in prompt.lower():
            return "NOT_COVERED"
        return "The policy covers this [1]."

    fake.default = reply


async def test_a_failing_model_stops_the_run_and_resume_finishes_it(
    database_url: str, tmp_path: Path, dataset: Path
) -> None:
    async with fake_openai() as llm:
        env = _hashing_env(
            database_url, tmp_path, OPENAI_BASE_URL=llm.base_url, OPENAI_API_KEY="test",
            SUPPORTBOT_CHAT_MODEL="house-model", SUPPORTBOT_LLM_MAX_RETRIES="0",
        )  # fmt: skip
        _model(llm)
        llm.script = ["Everyone gets 25 days [1].", "CORRECT", 500]
        stopped = await _eval(str(dataset), "--json", env=env)
        assert stopped.returncode == 1
        assert _errors(stopped.stderr) == [
            "supportbot: error: question receipts: the model or the knowledge base is "
            "unavailable (see the log); fix it and continue with --resume"
        ]
        results = tmp_path / "eval" / "questions.jsonl"
        assert [json.loads(line)["case_id"] for line in results.read_text().splitlines()] == [
            "leave-days"
        ]

        asked_before = len(llm.requests)
        resumed = await _eval(str(dataset), "--json", "--resume", env=env)
        assert resumed.returncode == 0, resumed.stderr
        summary = json.loads(resumed.stdout)
        later = llm.user_prompts()[asked_before:]
    # The finished question is not answered again (it may still appear as the earlier turn
    # when the next question is checked for being searched as if asked alone).
    answered = [p for p in later if not p.startswith("Rewrite the employee")]
    assert not any("How many days of annual leave does everyone get?" in p for p in answered)
    assert any("When do I submit receipts" in p for p in later)
    assert summary["run"]["questions"] == 4
    assert summary["answers"]["judged_by"] == "llm:house-model"
    assert summary["answers"]["correctness"] == 1.0 and summary["answers"]["judged"] == 3
    assert summary["answers"]["abstention_rate"] == 1.0
    assert summary["cost"]["prompt_tokens_per_question"] > 0
    assert len(results.read_text().splitlines()) == 4


async def test_bad_input_is_one_line_naming_what_was_wrong(
    database_url: str, tmp_path: Path, dataset: Path
) -> None:
    env = _hashing_env(database_url, tmp_path)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"question": "fine"}\n{not json\n')
    result = await _eval(str(broken), "--corpus", str(dataset.parent / "docs"), env=env)
    assert result.returncode == 1
    assert _errors(result.stderr) == [
        f"supportbot: error: {broken}:2: not valid JSON: Expecting property name enclosed in "
        "double quotes"
    ]

    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text(json.dumps({"question": "q", "gold_documents": ["nope.md"]}) + "\n")
    result = await _eval(str(unknown), "--corpus", str(dataset.parent / "docs"), env=env)
    assert result.returncode == 1
    assert _errors(result.stderr) == [
        "supportbot: error: gold document 'nope.md' is not in the corpus"
    ]

    # Nothing to fit on: a set whose questions the documents do not answer.
    uncovered = tmp_path / "uncovered.jsonl"
    uncovered.write_text(json.dumps({"question": "wifi in Lisbon?", "answerable": False}) + "\n")
    for flag, what in (("--fit-ranking", "the ranking"), ("--fit-quoting", "the quoting")):
        result = await _eval(
            str(uncovered), "--corpus", str(dataset.parent / "docs"), flag, env=env
        )
        assert result.returncode == 1
        assert _errors(result.stderr) == [
            f"supportbot: error: fitting {what} needs questions whose "
            + (
                "candidates hold their answer"
                if flag == "--fit-ranking"
                else "sources hold their evidence"
            )
        ]

    result = await _eval(str(tmp_path / "missing.jsonl"), env=env)
    assert _errors(result.stderr) == [
        f"supportbot: error: {tmp_path / 'missing.jsonl'}: no such dataset file or folder "
        "(or 'sample', 'sample-conversations')"
    ]
    resume = await _eval(str(dataset), "--resume", "--results", str(tmp_path / "r.jsonl"), env=env)
    assert _errors(resume.stderr) == [
        f"supportbot: error: {tmp_path / 'r.jsonl'}: nothing to resume (run without --resume first)"
    ]


def _model_env(database_url: str, home: Path, **extra: str) -> dict[str, str]:
    """The product's defaults: the bundled model and the offline writer."""
    return _env(database_url, home, HF_HUB_OFFLINE="1", **extra)


@pytest.mark.model
async def test_guard_conditionalqa_evidence_hit_at_5(database_url: str, tmp_path: Path) -> None:
    if not CONDITIONALQA.is_dir():
        pytest.skip(f"the public evaluation sets are not at {PUBLIC_SETS}")
    env = _model_env(database_url, tmp_path)
    with_situation = await _eval(str(CONDITIONALQA), "--json", env=env)
    assert with_situation.returncode == 0, with_situation.stderr
    question_only = await _eval(str(CONDITIONALQA), "--json", "--without-context", env=env)
    assert question_only.returncode == 0, question_only.stderr
    hit = json.loads(with_situation.stdout)["retrieval"]["evidence_hit_at_k"]
    hit_question_only = json.loads(question_only.stdout)["retrieval"]["evidence_hit_at_k"]
    assert hit >= CONDITIONALQA_EVIDENCE_HIT_FLOOR, hit
    assert hit_question_only >= CONDITIONALQA_QUESTION_ONLY_FLOOR, hit_question_only


@pytest.mark.model
async def test_guard_sample_handbook(
    database_url: str, sample_model_engine: AsyncEngine, tmp_path: Path
) -> None:
    # The evaluation's database starts as a copy of the handbook the session already embedded
    # with the same model, so the run re-embeds nothing (its ingest finds every file unchanged).
    eval_database = sample_model_engine.url.render_as_string(hide_password=False)
    env = _model_env(database_url, tmp_path, SUPPORTBOT_EVAL_DATABASE_URL=eval_database)
    result = await _eval(
        "sample", "--json", "--fit-ranking", "--fit-quoting", "--fit-decline", env=env
    )
    assert result.returncode == 0, result.stderr
    summary_text, ranking, quoting, fitted = re.split(
        "Ranking fitted|Quoting fitted|Decline decision", result.stdout
    )
    summary = json.loads(summary_text)
    # --fit-ranking fits on every candidate of the answerable questions asked alone, and
    # --fit-quoting on every sentence of their sources; each prints the setting that uses it.
    assert ranking.startswith(" on ") and "candidates of 34 questions" in ranking
    setting = ranking.split("SUPPORTBOT_RANKING_MODEL='", 1)[1].split("'")[0]
    assert RankingModel.parse(setting).as_setting() == setting
    assert quoting.startswith(" on ") and "sentences of 34 questions" in quoting
    setting = quoting.split("SUPPORTBOT_QUOTING_MODEL='", 1)[1].split("'")[0]
    assert QuotingModel.parse(setting).as_setting() == setting
    assert summary["retrieval"]["evidence_hit_at_k"] >= SAMPLE_EVIDENCE_HIT_FLOOR
    assert summary["answers"]["abstention_rate"] >= SAMPLE_ABSTENTION_FLOOR
    # --fit-decline fits on the questions asked alone and prints weights to paste.
    assert fitted.startswith(" fitted on 34 covered and 8 uncovered questions: weights")
    setting = fitted.split("SUPPORTBOT_DECLINE_MODEL='", 1)[1].split("'")[0]
    assert CoverageModel.parse(setting).threshold > 0
