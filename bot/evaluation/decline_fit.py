"""Fitting the "is it covered?" decision on an evaluation run (``supportbot eval --fit-decline``).

Each question asked alone gives the answer flow's coverage signals and whether the documents
answer it. A logistic regression with balanced class weights (a set has far fewer uncovered
questions than covered ones) and a little L2 regularisation is fitted (``logistic.py``);
its weights are what ``bot/core/coverage.py`` ships, and they must be reported on sets other
than the one they were fitted on. The threshold is then set so that the share ``answer_rate``
of the covered questions is still answered: declining a question the documents answer costs
the asker more than quoting a loosely related policy they can see is off the point.

Above that threshold, answers are marked unsure up to the probability ``sure``, set so that at
least the share ``flag_rate`` of the uncovered questions is declined or marked unsure (the
issue's 0.70): an unsure answer still quotes its sources, so a covered question marked unsure
keeps its answer.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.core.coverage import CoverageModel, CoverageSignals
from bot.evaluation.logistic import fit_logistic
from bot.evaluation.results import CaseResult

_L2 = 0.01


@dataclass(frozen=True)
class DeclineFit:
    """The fitted model and what it does on the questions it was fitted on."""

    model: CoverageModel
    covered: int
    uncovered: int
    covered_answered: float
    uncovered_declined: float
    covered_unsure: float = 0.0
    uncovered_flagged: float = 0.0  # declined or answered unsure


ANSWER_RATE = 0.9
FLAG_RATE = 0.7


def fit_decline(
    results: Sequence[CaseResult], answer_rate: float = ANSWER_RATE, flag_rate: float = FLAG_RATE
) -> DeclineFit:
    """Fit the decision on the questions asked alone that have coverage signals."""
    usable = [r for r in results if r.coverage and not r.follow_up]
    covered = sum(r.answerable for r in usable)
    if covered == 0 or covered == len(usable):
        raise ValueError("fitting needs questions the documents answer and ones they do not")
    x = np.array([r.coverage for r in usable], dtype=np.float64)
    y = np.array([float(r.answerable) for r in usable])
    weights = np.where(y == 1.0, len(y) / (2 * covered), len(y) / (2 * (len(y) - covered)))
    beta = fit_logistic(x, y, weights, _L2)
    w = tuple(round(float(v), 3) for v in beta[1:])
    fitted = CoverageModel(weights=w, bias=round(float(beta[0]), 3))
    probabilities = sorted(
        fitted.probability(CoverageSignals(*r.coverage)) for r in usable if r.answerable
    )
    # (1 - 0.9) * 10 is 0.999…: without the nudge, ten covered questions would all be answered.
    lowest_answered = probabilities[math.floor((1 - answer_rate) * len(probabilities) + 1e-9)]
    threshold = math.floor(lowest_answered * 1000) / 1000
    uncovered = sorted(
        fitted.probability(CoverageSignals(*r.coverage)) for r in usable if not r.answerable
    )
    # Just above the probability of the uncovered question that makes up the share.
    highest_flagged = uncovered[math.ceil(flag_rate * len(uncovered)) - 1]
    flagged_below = round(math.floor(highest_flagged * 1000) / 1000 + 0.001, 3)
    sure = flagged_below if threshold < flagged_below < 1 else None
    model = dataclasses.replace(fitted, threshold=threshold, sure=sure)
    levels = [(model.assess(CoverageSignals(*r.coverage)), r.answerable) for r in usable]
    covered_levels = [level for level, answerable in levels if answerable]
    uncovered_levels = [level for level, answerable in levels if not answerable]
    return DeclineFit(
        model,
        covered,
        len(usable) - covered,
        covered_answered=_share(covered_levels, ("covered", "unsure")),
        uncovered_declined=_share(uncovered_levels, ("not_covered",)),
        covered_unsure=_share(covered_levels, ("unsure",)),
        uncovered_flagged=_share(uncovered_levels, ("unsure", "not_covered")),
    )


def _share(levels: Sequence[str], counted: tuple[str, ...]) -> float:
    return sum(level in counted for level in levels) / len(levels)
