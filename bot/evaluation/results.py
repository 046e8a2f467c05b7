"""What an evaluation run produces: one ``CaseResult`` per question and a ``Summary``.

Results are plain frozen dataclasses that round-trip through JSON, so a run can be written
line by line, resumed after an interruption, and rendered as a table, JSON or HTML.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RetrievedSource:
    """One of the top-k chunks retrieved for a question, judged against the gold data."""

    title: str
    section: str
    url: str
    document: str  # the corpus file it came from, relative to the corpus folder
    text: str
    similarity: float
    gold_document: bool
    has_evidence: bool


@dataclass(frozen=True)
class CitedSource:
    """A source the answer cites; ``supported`` is None when the case has nothing to check."""

    n: int
    title: str
    section: str
    url: str
    supported: bool | None
    gold_document: bool | None = None  # None when the case names no gold document


@dataclass(frozen=True)
class CaseResult:
    """Everything measured for one question."""

    case_id: str
    asked: str
    answerable: bool
    expected_answer: str
    gold_documents: tuple[str, ...]
    retrieved: tuple[RetrievedSource, ...]
    evidence_rank: int | None  # 1-based rank of the first chunk holding gold evidence
    gold_rank: int | None  # 1-based rank of the first chunk from a gold document
    doc_recall: float | None  # share of gold documents among the top k; None without gold
    checks_evidence: bool  # the case has gold evidence sentences
    answer: str
    outcome: str
    citations: tuple[CitedSource, ...]
    correct: bool | None  # None when the answer could not be judged
    judged_by: str  # "tokens", "lexical", "llm" or "" (not judged)
    tone_problems: tuple[str, ...]
    latency_ms: float
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    follow_up: bool = False  # asked with earlier turns of its conversation
    # Asked right after an unrelated question: was it searched exactly as when asked alone?
    # None when not checked (a follow-up, or no unrelated question to pair it with).
    new_topic_as_alone: bool | None = None
    # The answer quotes a gold evidence sentence; None without evidence or when unanswerable.
    evidence_quoted: bool | None = None
    # The answer flow's coverage signals for the sources it searched (bot/core/coverage.py).
    coverage: tuple[float, ...] = ()
    # Answered, but saying first that the quotes may not answer the question.
    unsure: bool = False

    @property
    def answered(self) -> bool:
        return self.outcome == "answered"

    @property
    def relevant_rank(self) -> int | None:
        """The rank MRR uses: the first evidence chunk, or the first gold document chunk."""
        return self.evidence_rank if self.checks_evidence else self.gold_rank

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CaseResult:
        fields = dict(data)
        fields["retrieved"] = tuple(RetrievedSource(**r) for r in data["retrieved"])
        fields["citations"] = tuple(CitedSource(**c) for c in data["citations"])
        fields["gold_documents"] = tuple(data["gold_documents"])
        fields["tone_problems"] = tuple(data["tone_problems"])
        fields["coverage"] = tuple(data.get("coverage", ()))
        return cls(**fields)


@dataclass(frozen=True)
class RetrievalSummary:
    k: int
    evidence_hit_at_k: float | None
    doc_recall_at_k: float | None
    mrr: float | None
    questions_with_evidence: int
    questions_with_gold_documents: int
    gold_document_hit_at_k: float | None = None
    # The first source alone: what an answer citing only it would reach (citation precision
    # and cites-a-gold-page can be no better than the search's first place allows).
    evidence_hit_at_1: float | None = None
    gold_document_hit_at_1: float | None = None


@dataclass(frozen=True)
class AnswerSummary:
    correctness: float | None
    judged: int
    judged_by: str
    citation_precision: float | None
    grounded_rate: float | None
    abstention_rate: float | None
    tone_conformance: float | None
    answerable: int
    unanswerable: int
    cites_gold_document: float | None = None
    evidence_quoted: float | None = None
    # Answerable questions answered but marked unsure; unanswerable ones declined or so marked.
    unsure_rate: float | None = None
    flagged_rate: float | None = None


@dataclass(frozen=True)
class CostSummary:
    latency_p50_ms: float
    latency_p95_ms: float
    prompt_tokens_per_question: float
    completion_tokens_per_question: float
    cost_per_question_usd: float
    cost_total_usd: float


@dataclass(frozen=True)
class ConversationSummary:
    """Questions in a conversation: follow-ups must find their thread's sources, and a new
    topic after an unrelated question must be searched as if it were asked alone."""

    follow_ups: int = 0
    follow_up_evidence_hit_at_k: float | None = None
    follow_up_doc_recall_at_k: float | None = None
    new_topics: int = 0
    new_topics_as_alone: float | None = None


@dataclass(frozen=True)
class RunInfo:
    """What was evaluated and how, printed with the figures so they can be reproduced."""

    dataset: str
    corpus: str
    questions: int
    with_context: bool
    embedding_model: str
    answer_model: str
    chunks: int


@dataclass(frozen=True)
class Summary:
    run: RunInfo
    retrieval: RetrievalSummary
    answers: AnswerSummary
    cost: CostSummary
    conversation: ConversationSummary = ConversationSummary()

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
