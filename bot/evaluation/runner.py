"""Run an evaluation: every question through the answer flow and retrieval, scored.

Results are appended to a JSON Lines file as each question finishes, so an interrupted run
continues where it stopped (``resume``) instead of starting again. A question the product
cannot answer because the model or database is down stops the run with that reason: the
figures are never quietly computed over failures.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.core.answer_log import Prices
from bot.core.answering import AnswerService
from bot.core.coverage import coverage_signals
from bot.core.types import Answer, Question, Turn
from bot.evaluation.corpus import EvalCorpus, EvalError
from bot.evaluation.dataset import EvalCase, EvalSet
from bot.evaluation.judge import Judge
from bot.evaluation.metrics import holds_evidence, summarise
from bot.evaluation.results import CaseResult, CitedSource, RetrievedSource, RunInfo, Summary
from bot.evaluation.tone import tone_problems
from knowledge.types import PUBLIC_SCOPE, Query, ScoredChunk


@dataclass(frozen=True)
class EvalOptions:
    """``k`` is the retrieval cut-off measured; ``with_context`` sends each asker's situation
    with the question; ``parallel`` questions are in flight at once."""

    results_path: Path
    k: int = 5
    with_context: bool = True
    parallel: int = 1
    limit: int | None = None
    resume: bool = False


@dataclass(frozen=True)
class Evaluation:
    """The parts a run needs, already wired."""

    corpus: EvalCorpus
    answers: AnswerService
    judge: Judge
    prices: Prices
    answer_model: str
    top_k: int


async def run_evaluation(
    evaluation: Evaluation,
    eval_set: EvalSet,
    options: EvalOptions,
    advance: Callable[[], object],
) -> tuple[Summary, list[CaseResult]]:
    """Evaluate every case of ``eval_set`` (continuing an earlier run when resuming)."""
    cases = list(eval_set.cases[: options.limit] if options.limit else eval_set.cases)
    for case in cases:  # an unknown gold document stops the run before any question
        for reference in case.gold_documents:
            evaluation.corpus.resolve(reference)
    done = _finished(options.results_path, {c.id for c in cases}) if options.resume else {}
    options.results_path.parent.mkdir(parents=True, exist_ok=True)
    results: dict[str, CaseResult] = dict(done)
    for _ in done:
        advance()
    pending = [c for c in cases if c.id not in done]
    asked_after = unrelated_predecessors(cases)
    slots = asyncio.Semaphore(max(1, options.parallel))
    mode = "a" if options.resume else "w"
    with options.results_path.open(mode, encoding="utf-8") as out:

        async def one(case: EvalCase) -> None:
            async with slots:
                result = await evaluate_case(evaluation, case, options, asked_after.get(case.id))
            out.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
            out.flush()
            results[case.id] = result
            advance()

        await asyncio.gather(*(one(case) for case in pending))
    ordered = [results[c.id] for c in cases]
    run = RunInfo(
        dataset=eval_set.name,
        corpus=str(eval_set.corpus),
        questions=len(ordered),
        with_context=options.with_context,
        embedding_model=evaluation.corpus.kb.embedder.model,
        answer_model=evaluation.answer_model,
        chunks=evaluation.corpus.chunks,
    )
    return summarise(run, ordered, options.k), ordered


def _finished(path: Path, wanted: set[str]) -> dict[str, CaseResult]:
    """Results already written by an interrupted run (a torn last line is ignored)."""
    if not path.is_file():
        raise EvalError(f"{path}: nothing to resume (run without --resume first)")
    done: dict[str, CaseResult] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            result = CaseResult.from_json(json.loads(line))
        except (json.JSONDecodeError, TypeError, KeyError):
            continue
        if result.case_id in wanted:
            done[result.case_id] = result
    return done


def unrelated_predecessors(cases: Sequence[EvalCase]) -> dict[str, EvalCase]:
    """For each question asked on its own, the closest earlier one about other documents: the
    question a colleague might have asked just before, in the same chat, on another topic."""
    paired: dict[str, EvalCase] = {}
    for i, case in enumerate(cases):
        if case.history or not case.gold_documents:
            continue
        earlier = (c for c in reversed(cases[:i]) if c.gold_documents and not c.history)
        other = next(
            (c for c in earlier if not set(c.gold_documents) & set(case.gold_documents)), None
        )
        if other is not None:
            paired[case.id] = other
    return paired


async def evaluate_case(
    evaluation: Evaluation, case: EvalCase, options: EvalOptions, after: EvalCase | None = None
) -> CaseResult:
    """Ask one question as an employee would, then score its retrieval and answer; with
    ``after``, also check that asked right after that unrelated question it is searched the same."""
    corpus = evaluation.corpus
    scopes = tuple(sorted({PUBLIC_SCOPE, *case.scopes}))
    asked = case.asked(with_context=options.with_context)
    question = Question(asked, scopes=scopes, history=case.history)
    answer = await evaluation.answers.answer(question)
    if answer.outcome == "unavailable":
        raise EvalError(
            f"question {case.id}: the model or the knowledge base is unavailable "
            "(see the log); fix it and continue with --resume"
        )
    # The same search the answer flow ran, deep enough for both the metric and the sources.
    hits = await corpus.kb.retriever.search(
        Query(answer.standalone_question or asked, max(options.k, evaluation.top_k), scopes=scopes)
    )
    gold = {corpus.resolve(reference) for reference in case.gold_documents}
    retrieved = tuple(_judged_source(corpus, hit, gold, case) for hit in hits[: options.k])
    evidence_rank = _first(retrieved, lambda s: s.has_evidence)
    gold_rank = _first(retrieved, lambda s: s.gold_document)
    found = {hit.document_id for hit in hits[: options.k]}
    as_alone = None
    if after is not None:
        as_alone = await _searched_as_alone(evaluation, question, after, options, hits[: options.k])
    correct: bool | None = None
    if case.answerable and (case.expected_answer or case.required_tokens):
        correct = (
            await evaluation.judge.correct(
                case.question, case.expected_answer, answer.text, case.required_tokens
            )
            if answer.outcome == "answered"
            else False  # declining a question the documents answer is a wrong answer
        )
    return CaseResult(
        case_id=case.id,
        asked=asked,
        answerable=case.answerable,
        expected_answer=case.expected_answer,
        gold_documents=tuple(case.gold_documents),
        retrieved=retrieved,
        evidence_rank=evidence_rank if case.gold_evidence else None,
        gold_rank=gold_rank,
        doc_recall=len(gold & found) / len(gold) if gold else None,
        checks_evidence=bool(case.gold_evidence),
        answer=answer.text,
        outcome=answer.outcome,
        unsure=answer.unsure,
        citations=_cited(answer, hits[: evaluation.top_k], gold, case),
        correct=correct,
        judged_by=evaluation.judge.name if correct is not None else "",
        tone_problems=tone_problems(answer.text) if answer.outcome == "answered" else (),
        latency_ms=answer.latency_ms,
        prompt_tokens=answer.usage.prompt_tokens,
        completion_tokens=answer.usage.completion_tokens,
        cost_usd=evaluation.prices.cost(answer),
        follow_up=bool(case.history),
        new_topic_as_alone=as_alone,
        evidence_quoted=(
            answer.outcome == "answered" and holds_evidence(answer.text, case.gold_evidence)
            if case.answerable and case.gold_evidence
            else None
        ),
        coverage=coverage_signals(
            answer.standalone_question or asked, hits[: evaluation.top_k]
        ).as_vector(),
    )


async def _searched_as_alone(
    evaluation: Evaluation,
    question: Question,
    after: EvalCase,
    options: EvalOptions,
    alone: Sequence[ScoredChunk],
) -> bool:
    """Whether ``question`` asked right after ``after`` finds the top k it finds alone."""
    before = after.asked(with_context=options.with_context)
    thread = (Turn("user", before), Turn("assistant", after.expected_answer or "…"))
    searched = await evaluation.answers.standalone(dataclasses.replace(question, history=thread))
    if searched == question.text:
        return True
    query = Query(searched, options.k, scopes=question.scopes)
    hits = await evaluation.corpus.kb.retriever.search(query)
    return [h.chunk_id for h in hits[: options.k]] == [h.chunk_id for h in alone]


def _judged_source(
    corpus: EvalCorpus, hit: ScoredChunk, gold: set[str], case: EvalCase
) -> RetrievedSource:
    return RetrievedSource(
        title=hit.title,
        section=hit.section,
        url=hit.url,
        document=corpus.paths.get(hit.document_id, ""),
        text=hit.text,
        similarity=hit.similarity,
        gold_document=hit.document_id in gold,
        has_evidence=bool(case.gold_evidence) and holds_evidence(hit.text, case.gold_evidence),
    )


def _first(
    sources: Sequence[RetrievedSource], test: Callable[[RetrievedSource], bool]
) -> int | None:
    return next((rank for rank, s in enumerate(sources, 1) if test(s)), None)


def _cited(
    answer: Answer, sources: Sequence[ScoredChunk], gold: set[str], case: EvalCase
) -> tuple[CitedSource, ...]:
    """Each citation, supported when its section holds gold evidence (or, without evidence,
    when it comes from a gold document)."""
    cited = []
    for citation in answer.citations:
        texts = [
            s.text for s in sources if s.document_id == citation.doc_id and s.url == citation.url
        ]
        supported: bool | None
        if case.gold_evidence:
            supported = any(holds_evidence(t, case.gold_evidence) for t in texts)
        elif gold:
            supported = citation.doc_id in gold
        else:
            supported = None
        from_gold = citation.doc_id in gold if gold else None
        cited.append(
            CitedSource(
                citation.n, citation.title, citation.section, citation.url, supported, from_gold
            )
        )
    return tuple(cited)
