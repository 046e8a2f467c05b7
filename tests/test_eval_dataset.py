"""Reading evaluation sets: the native JSON Lines format, the bundled sample and public sets."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.core.types import Turn
from bot.evaluation.dataset import DatasetError, EvalCase, EvalSet, read_dataset
from bot.evaluation.metrics import normalise
from knowledge.loading import LoadOptions, load
from knowledge.samples import SAMPLE_BASE_URL, SAMPLE_DOCS
from tests.public_sets import PUBLIC_SETS

FULL_RECORD: dict[str, Any] = {
    "id": "leave-1",
    "question": "How far ahead do I book two weeks off?",
    "context": "I work part time in Leeds.",
    "history": [
        {"role": "user", "text": "Hi, a question about leave."},
        {"role": "assistant", "text": "Sure, what would you like to know?"},
    ],
    "expected_answer": "At least 4 weeks before.",
    "answerable": False,
    "gold_documents": ["people/annual-leave.md", "people/parental-leave.md"],
    "gold_evidence": ["Give notice of at least twice the length of the leave you are booking."],
    "required_tokens": ["4 weeks"],
    "scopes": ["hr", "managers"],
}


def write_lines(path: Path, *lines: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def record(**fields: Any) -> str:
    return json.dumps(fields)


def public_set(name: str) -> Path:
    folder = PUBLIC_SETS / name
    if not (folder / "questions.jsonl").is_file():
        pytest.skip(f"the public set {name} is not on this machine ({folder})")
    return folder


# --- the native format ---


def test_full_record_is_read_into_a_case(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "leave.jsonl", json.dumps(FULL_RECORD))

    dataset = read_dataset(str(path))

    assert dataset == EvalSet(
        name="leave",
        cases=(
            EvalCase(
                id="leave-1",
                question="How far ahead do I book two weeks off?",
                context="I work part time in Leeds.",
                history=(
                    Turn("user", "Hi, a question about leave."),
                    Turn("assistant", "Sure, what would you like to know?"),
                ),
                expected_answer="At least 4 weeks before.",
                answerable=False,
                gold_documents=("people/annual-leave.md", "people/parental-leave.md"),
                gold_evidence=(
                    "Give notice of at least twice the length of the leave you are booking.",
                ),
                required_tokens=("4 weeks",),
                scopes=("hr", "managers"),
            ),
        ),
        corpus=tmp_path / "docs",
        base_url="https://eval.invalid/leave/",
    )
    assert all(isinstance(turn, Turn) for turn in dataset.cases[0].history)


def test_only_the_question_is_required(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "q.jsonl", record(question="Where is the office?"))

    (case,) = read_dataset(str(path)).cases

    assert case == EvalCase(id="1", question="Where is the office?")
    assert case.answerable is True
    assert case.history == ()
    assert case.gold_documents == ()


def test_single_strings_numeric_ids_and_line_numbers(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "q.jsonl",
        record(id=7, question="First?", gold_documents="a.md", gold_evidence="One sentence."),
        "",
        record(question="Third line, no id?", required_tokens="25 days", scopes="hr"),
        record(id=1.5, question="Float id?", context=None, expected_answer=12),
    )

    cases = read_dataset(str(path)).cases

    assert [c.id for c in cases] == ["7", "3", "1.5"]
    assert cases[0].gold_documents == ("a.md",)
    assert cases[0].gold_evidence == ("One sentence.",)
    assert cases[1].required_tokens == ("25 days",)
    assert cases[1].scopes == ("hr",)
    assert cases[2].context == ""
    assert cases[2].expected_answer == "12"


def test_blank_strings_in_lists_are_dropped(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "q.jsonl", record(question="Q?", gold_documents=["a.md", "  ", ""])
    )

    assert read_dataset(str(path)).cases[0].gold_documents == ("a.md",)


def test_asked_puts_the_context_first() -> None:
    case = EvalCase(
        id="1", question="  How far ahead do I book?\n", context="\nI work part time.  "
    )

    assert case.asked(with_context=True) == "I work part time.\n\nHow far ahead do I book?"
    assert case.asked(with_context=False) == "How far ahead do I book?"


def test_asked_without_a_context_is_the_question() -> None:
    case = EvalCase(id="1", question="How far ahead do I book?")

    assert case.asked(with_context=True) == "How far ahead do I book?"
    assert case.asked(with_context=False) == "How far ahead do I book?"


def test_native_folder_reads_its_questions(tmp_path: Path) -> None:
    folder = tmp_path / "my-set"
    write_lines(folder / "questions.jsonl", record(id="a", question="Q?"))

    dataset = read_dataset(str(folder))

    assert dataset.name == "my-set"
    assert dataset.cases == (EvalCase(id="a", question="Q?"),)
    assert dataset.corpus == folder / "docs"
    assert dataset.base_url == "https://eval.invalid/my-set/"


def test_corpus_override_replaces_the_docs_folder(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "q.jsonl", record(question="Q?"))
    folder = tmp_path / "set"
    write_lines(folder / "questions.jsonl", record(question="Q?"))
    elsewhere = tmp_path / "elsewhere"

    assert read_dataset(str(path)).corpus == tmp_path / "docs"
    assert read_dataset(str(path), corpus=elsewhere).corpus == elsewhere
    assert read_dataset(str(folder), corpus=elsewhere).corpus == elsewhere
    assert read_dataset("sample", corpus=elsewhere).corpus == elsewhere


# --- bad input ---

GOOD = record(id="ok", question="A fine question?")


@pytest.mark.parametrize(
    ("line", "names"),
    [
        ('{"question": "Q?",', "not valid JSON"),
        ('["question", "Q?"]', "JSON object"),
        ('"just a string"', "JSON object"),
        (record(id="x"), "'question'"),
        (record(question=""), "'question'"),
        (record(question="   "), "'question'"),
        (record(question=5), "'question'"),
        (record(question="Q?", answerable="yes"), "'answerable'"),
        (record(question="Q?", answerable=1), "'answerable'"),
        (record(question="Q?", gold_documents=3), "'gold_documents'"),
        (record(question="Q?", gold_documents=["a.md", 2]), "'gold_documents'"),
        (record(question="Q?", gold_documents={"a.md": 1}), "'gold_documents'"),
        (record(question="Q?", gold_evidence=[None]), "'gold_evidence'"),
        (record(question="Q?", required_tokens=[["x"]]), "'required_tokens'"),
        (record(question="Q?", scopes=7), "'scopes'"),
        (record(question="Q?", context=["a"]), "'context'"),
        (record(question="Q?", expected_answer={"a": 1}), "'expected_answer'"),
        (record(question="Q?", id=True), "'id'"),
        (record(question="Q?", history="user: hi"), "'history'"),
        (record(question="Q?", history=["hi"]), "history turn"),
        (record(question="Q?", history=[{"role": "system", "text": "x"}]), "history turn"),
        (record(question="Q?", history=[{"role": "user"}]), "history turn"),
        (record(question="Q?", history=[{"role": "user", "text": 3}]), "history turn"),
        (record(question="Q?", history=[{"text": "hi"}]), "history turn"),
    ],
)
def test_bad_line_names_the_file_line_and_field(tmp_path: Path, line: str, names: str) -> None:
    path = write_lines(tmp_path / "bad.jsonl", GOOD, "", line, GOOD.replace("ok", "ok2"))

    with pytest.raises(DatasetError) as error:
        read_dataset(str(path))

    message = str(error.value)
    assert message.startswith(f"{path}:3: ")
    assert names in message


def test_duplicate_id_names_the_file_and_id(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "dup.jsonl",
        record(id="leave-1", question="One?"),
        record(id="leave-2", question="Two?"),
        record(id="leave-1", question="Three?"),
    )

    with pytest.raises(DatasetError) as error:
        read_dataset(str(path))

    assert str(error.value) == f"{path}: the id 'leave-1' is used twice"


def test_implicit_line_number_id_clashes_with_an_explicit_one(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "dup.jsonl", record(id=2, question="One?"), record(question="Two?")
    )

    with pytest.raises(DatasetError, match="the id '2' is used twice"):
        read_dataset(str(path))


def test_duplicate_id_in_a_native_folder(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    write_lines(
        folder / "questions.jsonl", record(id="a", question="1?"), record(id="a", question="2?")
    )

    with pytest.raises(DatasetError) as error:
        read_dataset(str(folder))

    assert str(error.value) == f"{folder / 'questions.jsonl'}: the id 'a' is used twice"


def test_bad_line_in_a_native_folder_names_questions_jsonl(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    write_lines(folder / "questions.jsonl", GOOD, record(question="Q?", answerable="no"))

    with pytest.raises(DatasetError) as error:
        read_dataset(str(folder))

    assert str(error.value).startswith(f"{folder / 'questions.jsonl'}:2: 'answerable'")


def test_missing_target_is_named(tmp_path: Path) -> None:
    target = str(tmp_path / "no-such-set.jsonl")

    with pytest.raises(DatasetError) as error:
        read_dataset(target)

    assert str(error.value).startswith(f"{target}: no such dataset file or folder")


def test_folder_without_questions(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "notes.jsonl").write_text(GOOD + "\n", encoding="utf-8")

    with pytest.raises(DatasetError) as error:
        read_dataset(str(tmp_path))

    assert str(error.value) == f"{tmp_path}: no questions.jsonl in this folder"


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"question": "Caf\xe9?"}\n')

    with pytest.raises(DatasetError) as error:
        read_dataset(str(path))

    assert str(error.value).startswith(f"{path}: cannot be read")


# --- public set readers, on crafted folders ---


def test_h2o_required_tokens_from_python_literals(tmp_path: Path) -> None:
    folder = tmp_path / "h2o"
    write_lines(
        folder / "documents.jsonl",
        record(doc_id="HR", path="docs/HR.md"),
    )
    tp = {"qa_type": "token_presence", "source_doc": "HR"}
    write_lines(
        folder / "questions.jsonl",
        record(id="a", question="Q1?", answer="3 months.", required_tokens="['3 months']", **tp),
        record(id="b", question="Q2?", required_tokens="['60 cents', 'per km']", **tp),
        record(id="c", question="Q3?", required_tokens="not a literal", **tp),
        record(id="d", question="Q4?", required_tokens=["10 days"], **tp),
        record(id="e", question="Q5?", required_tokens=None, **tp),
    )

    dataset = read_dataset(str(folder))

    assert dataset.name == "h2o"
    assert dataset.corpus == folder / "docs"
    assert [c.required_tokens for c in dataset.cases] == [
        ("3 months",),
        ("60 cents", "per km"),
        ("not a literal",),
        ("10 days",),
        (),
    ]
    assert dataset.cases[0] == EvalCase(
        id="a",
        question="Q1?",
        expected_answer="3 months.",
        gold_documents=("HR.md",),
        required_tokens=("3 months",),
    )


def test_h2o_unknown_source_doc_names_the_line(tmp_path: Path) -> None:
    folder = tmp_path / "h2o"
    write_lines(folder / "documents.jsonl", record(doc_id="HR", path="docs/HR.md"))
    write_lines(
        folder / "questions.jsonl",
        record(id="a", question="Q?", qa_type="free_form", source_doc="HR"),
        record(id="b", question="Q?", qa_type="free_form", source_doc="Finance"),
    )

    with pytest.raises(DatasetError) as error:
        read_dataset(str(folder))

    assert str(error.value) == f"{folder}/questions.jsonl:2: unknown source_doc"


# --- the bundled sample ---


def test_sample_set() -> None:
    dataset = read_dataset("sample")

    assert dataset.name == "sample"
    assert dataset.corpus == SAMPLE_DOCS
    assert dataset.base_url == SAMPLE_BASE_URL
    assert len(dataset.cases) == 42
    assert sum(not c.answerable for c in dataset.cases) == 8
    answerable = [c for c in dataset.cases if c.answerable]
    assert len(answerable) == 34
    assert all(c.gold_documents and c.gold_evidence for c in answerable)
    assert {c.id: c.scopes for c in dataset.cases if c.scopes} == {
        "performance-reviews-1": ("hr",),
        "corporate-card-and-approval-limits-1": ("finance",),
    }
    missing = [
        (c.id, doc)
        for c in dataset.cases
        for doc in c.gold_documents
        if not (SAMPLE_DOCS / doc).is_file()
    ]
    assert missing == []


def _collapsed(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


async def test_sample_evidence_is_verbatim_in_its_gold_document() -> None:
    texts: dict[str, str] = {}
    async for outcome in load([str(SAMPLE_DOCS)], LoadOptions(base_url=SAMPLE_BASE_URL)):
        assert outcome.document is not None, outcome
        relative = outcome.source.removeprefix(f"{SAMPLE_DOCS}/")
        texts[relative] = "\n\n".join(s.text for s in outcome.document.sections)
    dataset = read_dataset("sample")
    gold = {doc for c in dataset.cases for doc in c.gold_documents}
    assert gold <= set(texts)
    # Formats other than Markdown are among the gold documents, so the loaders are exercised.
    assert {Path(doc).suffix for doc in gold} == {".md", ".pdf", ".docx", ".html", ".txt"}

    not_verbatim = []
    not_normalised = []
    for case in dataset.cases:
        for sentence in case.gold_evidence:
            docs = [texts[doc] for doc in case.gold_documents]
            if not any(_collapsed(sentence) in _collapsed(text) for text in docs):
                not_verbatim.append((case.id, sentence))
            if not any(normalise(sentence) in normalise(text) for text in docs):
                not_normalised.append((case.id, sentence))
    assert not_verbatim == []
    assert not_normalised == []
    assert sum(len(c.gold_evidence) for c in dataset.cases) == 54


# --- the public sets ---


def test_conditionalqa_govuk() -> None:
    folder = public_set("conditionalqa-govuk")

    dataset = read_dataset(str(folder))

    assert dataset.name == "conditionalqa-govuk"
    assert dataset.corpus == folder / "docs"
    assert len(dataset.cases) == 285
    answerable = [c for c in dataset.cases if c.answerable]
    assert len(answerable) == 271
    assert all(c.gold_evidence and c.context for c in answerable)
    assert all(not c.gold_evidence for c in dataset.cases if not c.answerable)
    assert all(len(c.gold_documents) == 1 for c in dataset.cases)
    paths = {doc for c in dataset.cases for doc in c.gold_documents}
    assert all(re.fullmatch(r"[a-z0-9-]+\.md", doc) for doc in paths), sorted(paths)[:5]
    assert [doc for doc in paths if not (folder / "docs" / doc).is_file()] == []
    first = next(c for c in dataset.cases if c.id == "dev-0")
    assert first.gold_documents == ("apply-special-guardian.md",)
    assert first.expected_answer == "within 10 days"
    assert first.context.startswith("My brother and his wife are in prison")
    assert first.gold_evidence == (
        "Within 10 days of receiving your application the court will send you a case number "
        "and a date for a meeting to set out:",
    )
    assert first.asked(with_context=True) == (
        f"{first.context.strip()}\n\nHow long will it be before I hear back from the court?"
    )


def test_conditionalqa_corpus_override(tmp_path: Path) -> None:
    folder = public_set("conditionalqa-govuk")

    dataset = read_dataset(str(folder), corpus=tmp_path)

    assert dataset.corpus == tmp_path
    assert len(dataset.cases) == 285


def test_h2o_policy_qa() -> None:
    folder = public_set("h2o-policy-qa")

    dataset = read_dataset(str(folder))

    assert dataset.name == "h2o-policy-qa"
    assert dataset.corpus == folder / "docs"
    assert len(dataset.cases) == 2766
    assert all(len(c.gold_documents) == 1 for c in dataset.cases)
    paths = {doc for c in dataset.cases for doc in c.gold_documents}
    assert [doc for doc in paths if not (folder / "docs" / doc).is_file()] == []
    token_cases = [c for c in dataset.cases if "/token_presence/" in c.id]
    assert len(token_cases) == 955
    assert all(c.required_tokens for c in token_cases)
    assert all(not c.required_tokens for c in dataset.cases if "/token_presence/" not in c.id)
    probation = next(c for c in dataset.cases if c.id == "HR_HR_Policy/token_presence/1")
    assert probation.required_tokens == ("3 months",)
    assert probation.gold_documents == ("HR_HR_Policy.md",)
    assert probation.expected_answer == (
        "The probation period for staff appointed at Grade N1 to N3 is 3 months."
    )


def test_h2o_corpus_override(tmp_path: Path) -> None:
    folder = public_set("h2o-policy-qa")

    assert read_dataset(str(folder), corpus=tmp_path).corpus == tmp_path


def test_blank_context_and_null_lists_mean_none(tmp_path: Path) -> None:
    assert EvalCase("1", "Q?", context="   ").asked(with_context=True) == "Q?"
    path = tmp_path / "q.jsonl"
    record = {"question": "Q?", "history": None, "gold_documents": None}
    path.write_text(json.dumps(record) + "\n")
    case = read_dataset(str(path), tmp_path).cases[0]
    assert case.history == () and case.gold_documents == ()


def test_the_bundled_conversations_are_follow_ups_over_the_sample_handbook() -> None:
    conversations = read_dataset("sample-conversations")
    assert conversations.corpus == read_dataset("sample").corpus
    assert len(conversations.cases) >= 20
    assert all(case.history for case in conversations.cases)
    assert any(not case.answerable for case in conversations.cases)
