"""The comparison of two (or more) models as one aligned table, a column per model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot.loop.tuning import messages
from bot.loop.tuning.compare import ModelFigures


def comparison_table(figures: Sequence[ModelFigures], *, source: Path, judge: str) -> str:
    """The figures side by side, headed by the model names."""
    rows = [
        (
            messages.COMPARE_ANSWERED,
            [messages.compare_share(f.answered, f.examples) for f in figures],
        ),
        (
            messages.COMPARE_VALID_CITATIONS,
            [messages.compare_share(f.valid_citations, f.examples) for f in figures],
        ),
        (messages.COMPARE_CORRECT, [messages.compare_share(f.correct, f.judged) for f in figures]),
        (
            messages.COMPARE_TONE_OK,
            [messages.compare_share(f.tone_ok, f.answered) for f in figures],
        ),
        (messages.COMPARE_COMMON_PROBLEM, [_problem(f) for f in figures]),
        (messages.COMPARE_LATENCY, [_latency(f) for f in figures]),
        (messages.COMPARE_TOKENS, [f"{f.total_tokens:,}" for f in figures]),
        (messages.COMPARE_ERRORS, [str(len(f.errors)) for f in figures]),
    ]
    label_width = max(len(label) for label, _ in rows)
    widths = [
        max(len(f.model), *(len(cells[i]) for _, cells in rows)) for i, f in enumerate(figures)
    ]
    examples = figures[0].examples if figures else 0

    def line(label: str, cells: Sequence[str]) -> str:
        padded = "  ".join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=True))
        return f"  {label:<{label_width}}  {padded}".rstrip()

    return "\n".join(
        [
            messages.comparison_heading(examples, source, judge),
            "",
            line("", [f.model for f in figures]),
            *(line(label, cells) for label, cells in rows),
        ]
    )


def _problem(figures: ModelFigures) -> str:
    if figures.common_problem is None:
        return messages.COMPARE_NONE
    kind, count = figures.common_problem
    return f"{kind} ({count})"


def _latency(figures: ModelFigures) -> str:
    if figures.mean_latency_ms is None:
        return messages.COMPARE_NONE
    return f"{figures.mean_latency_ms:,.0f} ms"
