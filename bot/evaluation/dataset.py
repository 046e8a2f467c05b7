"""The evaluation dataset format, and reading it from a file or a public set's folder.

One JSON object per line (see the README's "Evaluation" section)::

    {"id": "leave-1", "question": "How far ahead do I book two weeks off?",
     "context": "I work part time in Leeds.", "history": [{"role": "user", "text": "..."}],
     "expected_answer": "At least 4 weeks before.", "answerable": true,
     "gold_documents": ["people/annual-leave.md"],
     "gold_evidence": ["Give notice of at least twice the length of the leave you are booking."],
     "required_tokens": ["4 weeks"], "scopes": ["hr"]}

Only ``question`` is required. Gold documents are paths relative to the corpus folder, or the
documents' links. A folder from ``../shared/eval/`` is read by the reader for its shape.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.types import Turn
from knowledge.samples import (
    SAMPLE_BASE_URL,
    SAMPLE_CONVERSATIONS,
    SAMPLE_DOCS,
    SAMPLE_QUESTIONS,
)

SAMPLE_DATASET = "sample"
SAMPLE_CONVERSATIONS_DATASET = "sample-conversations"


class DatasetError(Exception):
    """A dataset that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class EvalCase:
    """One question with what a correct answer looks like and where it comes from."""

    id: str
    question: str
    context: str = ""
    history: tuple[Turn, ...] = ()
    expected_answer: str = ""
    answerable: bool = True
    gold_documents: tuple[str, ...] = ()
    gold_evidence: tuple[str, ...] = ()
    required_tokens: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()

    def asked(self, *, with_context: bool) -> str:
        """The message as an employee would send it: their situation, then the question."""
        if with_context and self.context.strip():
            return f"{self.context.strip()}\n\n{self.question.strip()}"
        return self.question.strip()


@dataclass(frozen=True)
class EvalSet:
    """Questions and the corpus they are asked over; files without a link get ``base_url``."""

    name: str
    cases: tuple[EvalCase, ...]
    corpus: Path
    base_url: str


def read_dataset(target: str, corpus: Path | None = None) -> EvalSet:
    """The set named by ``target``: ``sample`` or ``sample-conversations`` (follow-ups) over
    the bundled handbook, a public set's folder, or a JSON Lines file."""
    if target == SAMPLE_DATASET:
        return _native(SAMPLE_QUESTIONS, corpus or SAMPLE_DOCS, "sample", SAMPLE_BASE_URL)
    if target == SAMPLE_CONVERSATIONS_DATASET:
        docs = corpus or SAMPLE_DOCS
        return _native(SAMPLE_CONVERSATIONS, docs, SAMPLE_CONVERSATIONS_DATASET, SAMPLE_BASE_URL)
    path = Path(target)
    if path.is_dir():
        questions = path / "questions.jsonl"
        if not questions.is_file():
            raise DatasetError(f"{path}: no questions.jsonl in this folder")
        records = list(_records(questions))
        reader = _reader_for(records[0][1] if records else {})
        return reader(path, records, corpus or path / "docs")
    if not path.is_file():
        raise DatasetError(
            f"{target}: no such dataset file or folder (or 'sample', 'sample-conversations')"
        )
    docs = corpus or path.parent / "docs"
    return _native(path, docs, path.stem, _file_base_url(path.stem))


def _reader_for(first: dict[str, Any]) -> Callable[[Path, list[Record], Path], EvalSet]:
    if "scenario" in first and "source_passage_ids" in first:
        return _conditionalqa
    if "qa_type" in first and "source_doc" in first:
        return _h2o_policy_qa
    return _native_folder


Record = tuple[int, dict[str, Any]]


def _records(path: Path) -> Iterator[Record]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: cannot be read: {e}") from e
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise DatasetError(f"{path}:{number}: not valid JSON: {e.msg}") from e
        if not isinstance(record, dict):
            raise DatasetError(f"{path}:{number}: each line must be a JSON object")
        yield number, record


def _native(path: Path, corpus: Path, name: str, base_url: str) -> EvalSet:
    cases = tuple(_native_case(path, number, record) for number, record in _records(path))
    return EvalSet(name, _unique(cases, path), corpus, base_url)


def _native_folder(folder: Path, records: list[Record], corpus: Path) -> EvalSet:
    path = folder / "questions.jsonl"
    cases = tuple(_native_case(path, number, record) for number, record in records)
    return EvalSet(folder.name, _unique(cases, path), corpus, _file_base_url(folder.name))


def _native_case(path: Path, number: int, record: dict[str, Any]) -> EvalCase:
    where = f"{path}:{number}"
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise DatasetError(f"{where}: 'question' must be a non-empty string")
    answerable = record.get("answerable", True)
    if not isinstance(answerable, bool):
        raise DatasetError(f"{where}: 'answerable' must be true or false")
    return EvalCase(
        id=_text(record, "id", where) or str(number),
        question=question,
        context=_text(record, "context", where),
        history=_history(record.get("history") or [], where),
        expected_answer=_text(record, "expected_answer", where),
        answerable=answerable,
        gold_documents=_strings(record, "gold_documents", where),
        gold_evidence=_strings(record, "gold_evidence", where),
        required_tokens=_strings(record, "required_tokens", where),
        scopes=_strings(record, "scopes", where),
    )


def _text(record: dict[str, Any], key: str, where: str) -> str:
    value = record.get(key, "")
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise DatasetError(f"{where}: {key!r} must be a string")
    return value


def _strings(record: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = record.get(key) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DatasetError(f"{where}: {key!r} must be a list of strings")
    return tuple(v for v in value if v.strip())


def _history(value: Any, where: str) -> tuple[Turn, ...]:
    if not isinstance(value, list):
        raise DatasetError(f"{where}: 'history' must be a list of turns")
    turns = []
    for turn in value:
        if (
            not isinstance(turn, dict)
            or turn.get("role") not in {"user", "assistant"}
            or not isinstance(turn.get("text"), str)
        ):
            raise DatasetError(
                f"{where}: each history turn needs a 'role' (user or assistant) and a 'text'"
            )
        turns.append(Turn(turn["role"], turn["text"]))
    return tuple(turns)


def _unique(cases: tuple[EvalCase, ...], path: Path) -> tuple[EvalCase, ...]:
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            raise DatasetError(f"{path}: the id {case.id!r} is used twice")
        seen.add(case.id)
    return cases


def _file_base_url(name: str) -> str:
    return f"https://eval.invalid/{name}/"


def _documents(folder: Path) -> dict[str, dict[str, Any]]:
    """A public set's documents.jsonl by doc_id (its files live under the set's folder)."""
    listing = folder / "documents.jsonl"
    if not listing.is_file():
        raise DatasetError(f"{folder}: no documents.jsonl in this folder")
    return {str(r["doc_id"]): r for _, r in _records(listing)}


def _gold_path(documents: dict[str, dict[str, Any]], record: Record, folder: Path) -> str:
    """The corpus path of the record's ``source_doc``."""
    number, fields = record
    doc = documents.get(str(fields.get("source_doc")))
    if doc is None:
        raise DatasetError(f"{folder}/questions.jsonl:{number}: unknown source_doc")
    return str(doc["path"]).removeprefix("docs/")


def _conditionalqa(folder: Path, records: list[Record], corpus: Path) -> EvalSet:
    """ConditionalQA (gov.uk guides): scenario as context, verbatim evidence sentences."""
    documents = _documents(folder)
    cases = []
    for number, record in records:
        gold = _gold_path(documents, (number, record), folder)
        cases.append(
            EvalCase(
                id=str(record.get("id") or number),
                question=str(record.get("question") or ""),
                context=str(record.get("scenario") or ""),
                expected_answer=str(record.get("answer") or ""),
                answerable=not record.get("not_answerable", False),
                gold_documents=(gold,),
                gold_evidence=tuple(str(s) for s in record.get("source_passage") or []),
            )
        )
    return EvalSet(folder.name, tuple(cases), corpus, _file_base_url(folder.name))


def _h2o_policy_qa(folder: Path, records: list[Record], corpus: Path) -> EvalSet:
    """h2o policy QA: generated questions, gold document only, some with required tokens."""
    documents = _documents(folder)
    cases = []
    for number, record in records:
        gold = _gold_path(documents, (number, record), folder)
        tokens = record.get("required_tokens") or []
        if isinstance(tokens, str):
            tokens = _python_list(tokens)
        cases.append(
            EvalCase(
                id=str(record.get("id") or number),
                question=str(record.get("question") or ""),
                expected_answer=str(record.get("answer") or ""),
                gold_documents=(gold,),
                required_tokens=tuple(str(t) for t in tokens),
            )
        )
    return EvalSet(folder.name, tuple(cases), corpus, _file_base_url(folder.name))


def _python_list(value: str) -> list[str]:
    """h2o stores lists as Python literals (``"['3 months']"``)."""
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return [value]
    return [str(v) for v in parsed] if isinstance(parsed, list | tuple) else [str(parsed)]
