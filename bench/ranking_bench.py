"""Benchmark of what the fitted ranking and quoting cost a question, on the CPU.

The search orders its fused top 20 with ``knowledge/ranking.py``'s model, and the offline writer
scores every sentence of the top 5 with ``bot/core/quoting.py``'s: both are plain Python over
the candidates' text. Their cost depends on the candidates' lengths and sentence counts, not on
the similarities, so the candidates are the sample handbook's 1,000-character passages (as in
``rerank_bench.py``), each question's 20 sharing the most words with it, split into sentences
by the indexer's own splitter and given made-up similarities and list places. What is timed is
``RankingModel.ordered`` on the 20, then ``QuotingModel.scored`` on the first 5. Run from the
repository root (``bench/README.md`` has the figures)::

    .venv/bin/python bench/ranking_bench.py [--queries 200] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.rerank_bench import closest, passages, percentile, questions, sample_documents
from bot.core.quoting import FITTED_FOR_MINILM as QUOTING
from knowledge.ranking import FITTED_FOR_MINILM as RANKING
from knowledge.sentences import split_sentences
from knowledge.types import ListRanks, ScoredChunk, ScoredSentence

CANDIDATES = 20
SOURCES = 5


def with_signals(pool: list[ScoredChunk], rng: random.Random) -> list[ScoredChunk]:
    """The candidates as the search hands them over: sentences scored, list places set."""
    return [
        dataclasses.replace(
            chunk,
            similarity=rng.uniform(0.2, 0.7),
            sentences=tuple(
                ScoredSentence(s, rng.uniform(0.1, 0.8)) for s in split_sentences(chunk.text)
            ),
            ranks=ListRanks(n + 1, rng.choice([None, n + 2]), rng.choice([None, n + 1])),
        )
        for n, chunk in enumerate(pool)
    ]


async def main(args: argparse.Namespace) -> dict[str, Any]:
    pool = passages(await sample_documents())
    rng = random.Random(7)
    ranking_ms: list[float] = []
    quoting_ms: list[float] = []
    sentences = 0
    for question in questions(args.queries):
        candidates = with_signals(closest(question, pool, CANDIDATES), rng)
        started = time.perf_counter()
        ordered = RANKING.ordered(question, candidates)
        ranked = time.perf_counter()
        sentences += len(QUOTING.scored(question, ordered[:SOURCES]))
        ranking_ms.append((ranked - started) * 1000)
        quoting_ms.append((time.perf_counter() - ranked) * 1000)
    return {
        "queries": args.queries,
        "candidates": CANDIDATES,
        "sentences_per_question": sentences / args.queries,
        "ranking_ms": {"p50": percentile(ranking_ms, 50), "p95": percentile(ranking_ms, 95)},
        "quoting_ms": {"p50": percentile(quoting_ms, 50), "p95": percentile(quoting_ms, 95)},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    arguments = parser.parse_args()
    result = asyncio.run(main(arguments))
    if arguments.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{result['queries']} questions, {result['candidates']} candidates each, "
            f"{result['sentences_per_question']:.0f} sentences scored per question\n"
            f"ranking: p50 {result['ranking_ms']['p50']:.2f} ms, "
            f"p95 {result['ranking_ms']['p95']:.2f} ms\n"
            f"quoting: p50 {result['quoting_ms']['p50']:.2f} ms, "
            f"p95 {result['quoting_ms']['p95']:.2f} ms"
        )
