"""A fitted linear model written as a setting: ``name=number`` pairs, one per signal, then
``bias`` (as ``supportbot eval --fit-ranking``/``--fit-quoting``/``--fit-decline`` print them)."""

from __future__ import annotations

from collections.abc import Sequence


def weights_setting(names: Sequence[str], weights: Sequence[float], bias: float) -> str:
    """``weights`` and ``bias`` as ``parse_values`` reads them."""
    pairs = " ".join(f"{n}={w:g}" for n, w in zip(names, weights, strict=True))
    return f"{pairs} bias={bias:g}"


def parse_values(text: str, names: Sequence[str]) -> dict[str, float]:
    """The number of each of ``names`` in ``text``'s ``name=number`` pairs; ValueError naming
    a name that is missing, unknown or not a number."""
    values: dict[str, float] = {}
    for pair in text.replace(",", " ").split():
        name, _, number = pair.partition("=")
        if name not in names:
            raise ValueError(f"unknown name {name!r} (expected {', '.join(names)})")
        try:
            values[name] = float(number)
        except ValueError:
            raise ValueError(f"{name} must be a number, got {number!r}") from None
    missing = [n for n in names if n not in values]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    return values


def parse_weights(text: str, signals: Sequence[str]) -> tuple[tuple[float, ...], float]:
    """The weights (in ``signals`` order) and ``bias`` of ``text``."""
    values = parse_values(text, (*signals, "bias"))
    return tuple(values[n] for n in signals), values["bias"]
