"""Logistic regression by Newton's method, for the fitted decisions (``--fit-decline``,
``--fit-ranking``): a handful of signals and a few thousand rows need nothing bigger."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

_ITERATIONS = 50


def fit_logistic(
    x: NDArray[np.float64], y: NDArray[np.float64], weights: NDArray[np.float64], l2: float
) -> NDArray[np.float64]:
    """The bias, then one weight per column of ``x``, minimising the ``weights``-weighted log
    loss of labels ``y`` (0 or 1) plus ``l2`` times the squared weights (the bias is not
    shrunk)."""
    design = np.hstack([np.ones((len(y), 1)), x])
    beta = np.zeros(design.shape[1])
    penalty = l2 * np.eye(design.shape[1])
    penalty[0, 0] = 0.0
    for _ in range(_ITERATIONS):
        p = 1.0 / (1.0 + np.exp(-design @ beta))
        gradient = design.T @ (weights * (p - y)) + penalty @ beta
        hessian = design.T @ (design * (weights * p * (1 - p))[:, None]) + penalty
        beta -= np.linalg.solve(hessian, gradient)
    return beta


def fit_standardised(
    x: NDArray[np.float64], y: NDArray[np.float64], l2: float
) -> tuple[tuple[float, ...], float]:
    """Weights for the raw columns of ``x`` and a bias, fitted on standardised columns (so one
    ``l2`` suits signals of any scale) and folded back; rounded to 4 decimals."""
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    beta = fit_logistic((x - mean) / scale, y, np.ones(len(y)), l2)
    weights = beta[1:] / scale
    return tuple(round(float(w), 4) for w in weights), round(float(beta[0] - weights @ mean), 4)
