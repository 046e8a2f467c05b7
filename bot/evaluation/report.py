"""An evaluation run's figures: labelled rows by section, and the terminal's aligned table.

The HTML page (``bot.evaluation.html_report``) lays out the same rows.
"""

from __future__ import annotations

from bot.evaluation.results import Summary

# Report labels (what a person reads in the table and the page).
TITLE = "supportbot evaluation"
NOT_AVAILABLE = "n/a"
RUN_DATASET = "dataset"
RUN_CORPUS = "corpus"
RUN_QUESTIONS = "questions"
RUN_CONTEXT = "context"
RUN_EMBEDDING_MODEL = "embedding model"
RUN_ANSWER_MODEL = "answer model"
RUN_CHUNKS = "chunks"
ON, OFF = "on", "off"
SECTION_RETRIEVAL = "Retrieval"
SECTION_ANSWERS = "Answers"
SECTION_COST = "Cost"
EVIDENCE_HIT = "evidence hit@{k}"
DOC_RECALL = "document recall@{k}"
GOLD_DOCUMENT_HIT = "gold document hit@{k}"
EVIDENCE_FIRST = "first source holds evidence"
GOLD_DOCUMENT_FIRST = "first source from a gold document"
MRR = "MRR"
WITH_EVIDENCE = "{n} questions with evidence"
WITH_GOLD_DOCUMENTS = "{n} questions with gold documents"
CORRECTNESS = "correctness"
JUDGED = "{n} judged"
JUDGED_BY = "{n} judged, by {by}"
CITATION_PRECISION = "citation precision"
CITES_GOLD_DOCUMENT = "answered citing a gold document"
EVIDENCE_QUOTED = "answer quotes gold evidence"
GROUNDED_RATE = "grounded rate (answerable)"
ABSTENTION_RATE = "abstention rate (unanswerable)"
FLAGGED_RATE = "declined or marked unsure (unanswerable)"
UNSURE_RATE = "answered but marked unsure (answerable)"
OF_ANSWERABLE = "of {n} answerable"
OF_UNANSWERABLE = "of {n} unanswerable"
TONE_CONFORMANCE = "tone conformance"
LATENCY_P50 = "latency p50"
LATENCY_P95 = "latency p95"
PROMPT_TOKENS = "prompt tokens / question"
COMPLETION_TOKENS = "completion tokens / question"
COST_PER_QUESTION = "cost / question"
COST_TOTAL = "cost total"
SECTION_CONVERSATION = "Conversations"
FOLLOW_UP_EVIDENCE_HIT = "follow-ups: evidence hit@{k}"
FOLLOW_UP_DOC_RECALL = "follow-ups: document recall@{k}"
OF_FOLLOW_UPS = "of {n} follow-ups"
NEW_TOPICS_AS_ALONE = "new topic searched as if asked alone"
OF_PAIRS = "of {n} questions asked after an unrelated one"

Row = tuple[str, str, str]  # label, value, detail


def summary_table(summary: Summary) -> str:
    """The run's figures as plain, aligned text for the terminal."""
    run = run_rows(summary)
    run_width = max(len(label) for label, _ in run)
    lines = [TITLE, *(f"  {label:<{run_width}}  {value}" for label, value in run)]
    sections = figure_sections(summary)
    rows = [row for _, section_rows in sections for row in section_rows]
    label_width = max(len(label) for label, _, _ in rows)
    value_width = max(len(value) for _, value, _ in rows)
    for title, section_rows in sections:
        lines += ["", title]
        for label, value, detail in section_rows:
            line = f"  {label:<{label_width}}  {value:>{value_width}}"
            lines.append(f"{line}  ({detail})" if detail else line)
    return "\n".join(lines)


def run_rows(summary: Summary) -> list[tuple[str, str]]:
    """What was run: the dataset, corpus and models, as label and value."""
    run = summary.run
    return [
        (RUN_DATASET, run.dataset),
        (RUN_CORPUS, run.corpus),
        (RUN_QUESTIONS, str(run.questions)),
        (RUN_CONTEXT, ON if run.with_context else OFF),
        (RUN_EMBEDDING_MODEL, run.embedding_model),
        (RUN_ANSWER_MODEL, run.answer_model),
        (RUN_CHUNKS, str(run.chunks)),
    ]


def figure_sections(summary: Summary) -> list[tuple[str, list[Row]]]:
    """The figures in titled sections (retrieval, answers, conversations, cost), a row per
    figure."""
    retrieval, answers, cost = summary.retrieval, summary.answers, summary.cost
    conversation = summary.conversation
    judged = (
        JUDGED_BY.format(n=answers.judged, by=answers.judged_by)
        if answers.judged_by
        else JUDGED.format(n=answers.judged)
    )
    of_answerable = OF_ANSWERABLE.format(n=answers.answerable)
    of_unanswerable = OF_UNANSWERABLE.format(n=answers.unanswerable)
    return [
        (
            SECTION_RETRIEVAL,
            [
                (
                    EVIDENCE_HIT.format(k=retrieval.k),
                    _rate(retrieval.evidence_hit_at_k),
                    WITH_EVIDENCE.format(n=retrieval.questions_with_evidence),
                ),
                (
                    DOC_RECALL.format(k=retrieval.k),
                    _rate(retrieval.doc_recall_at_k),
                    WITH_GOLD_DOCUMENTS.format(n=retrieval.questions_with_gold_documents),
                ),
                (
                    GOLD_DOCUMENT_HIT.format(k=retrieval.k),
                    _rate(retrieval.gold_document_hit_at_k),
                    WITH_GOLD_DOCUMENTS.format(n=retrieval.questions_with_gold_documents),
                ),
                (EVIDENCE_FIRST, _rate(retrieval.evidence_hit_at_1), ""),
                (GOLD_DOCUMENT_FIRST, _rate(retrieval.gold_document_hit_at_1), ""),
                (MRR, _rate(retrieval.mrr), ""),
            ],
        ),
        (
            SECTION_ANSWERS,
            [
                (CORRECTNESS, _rate(answers.correctness), judged),
                (CITATION_PRECISION, _rate(answers.citation_precision), ""),
                (CITES_GOLD_DOCUMENT, _rate(answers.cites_gold_document), ""),
                (EVIDENCE_QUOTED, _rate(answers.evidence_quoted), ""),
                (GROUNDED_RATE, _rate(answers.grounded_rate), of_answerable),
                (ABSTENTION_RATE, _rate(answers.abstention_rate), of_unanswerable),
                (FLAGGED_RATE, _rate(answers.flagged_rate), of_unanswerable),
                (UNSURE_RATE, _rate(answers.unsure_rate), of_answerable),
                (TONE_CONFORMANCE, _rate(answers.tone_conformance), ""),
            ],
        ),
        (
            SECTION_CONVERSATION,
            [
                (
                    FOLLOW_UP_EVIDENCE_HIT.format(k=retrieval.k),
                    _rate(conversation.follow_up_evidence_hit_at_k),
                    OF_FOLLOW_UPS.format(n=conversation.follow_ups),
                ),
                (
                    FOLLOW_UP_DOC_RECALL.format(k=retrieval.k),
                    _rate(conversation.follow_up_doc_recall_at_k),
                    OF_FOLLOW_UPS.format(n=conversation.follow_ups),
                ),
                (
                    NEW_TOPICS_AS_ALONE,
                    _rate(conversation.new_topics_as_alone),
                    OF_PAIRS.format(n=conversation.new_topics),
                ),
            ],
        ),
        (
            SECTION_COST,
            [
                (LATENCY_P50, f"{cost.latency_p50_ms:.0f} ms", ""),
                (LATENCY_P95, f"{cost.latency_p95_ms:.0f} ms", ""),
                (PROMPT_TOKENS, f"{cost.prompt_tokens_per_question:.1f}", ""),
                (COMPLETION_TOKENS, f"{cost.completion_tokens_per_question:.1f}", ""),
                (COST_PER_QUESTION, f"${cost.cost_per_question_usd:.6f}", ""),
                (COST_TOTAL, f"${cost.cost_total_usd:.4f}", ""),
            ],
        ),
    ]


def _rate(value: float | None) -> str:
    return NOT_AVAILABLE if value is None else f"{value:.3f}"
