"""Fitting the "is it covered?" decision on an evaluation run (``supportbot eval --fit-decline``).

Each question asked alone gives the answer flow's coverage signals and whether the documents
answer it. A logistic regression with balanced class weights (a set has far fewer uncovered
questions than covered ones) and a little L2 regularisation is fitted (``logistic.py``);
its weights are what ``bot/core/coverage.py`` ships, and they must be reported on sets other
than the one they were fitted on. The threshold is then set so that the share ``answer_rate``
of the covered questions is still answered: declining a question the documents answer costs
the asker more than quoting a loosely related policy they can see is off the point.
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


ANSWER_RATE = 0.9


def fit_decline(results: Sequence[CaseResult], answer_rate: float = ANSWER_RATE) -> DeclineFit:
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
    fitted = CoverageModel(weights=(w[0], w[1], w[2], w[3]), bias=round(float(beta[0]), 3))
    probabilities = sorted(
        fitted.probability(CoverageSignals(*r.coverage)) for r in usable if r.answerable
    )
    lowest_answered = probabilities[int((1 - answer_rate) * len(probabilities))]
    model = dataclasses.replace(fitted, threshold=math.floor(lowest_answered * 1000) / 1000)
    covers = [model.covers(CoverageSignals(*r.coverage)) for r in usable]
    answered = [c for c, r in zip(covers, usable, strict=True) if r.answerable]
    declined = [not c for c, r in zip(covers, usable, strict=True) if not r.answerable]
    return DeclineFit(
        model,
        covered,
        len(usable) - covered,
        sum(answered) / covered,
        sum(declined) / len(declined),
    )
