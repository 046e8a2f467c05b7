"""A fitted linear model, and how it is written as a setting: ``name=number`` pairs, one per
signal, then ``bias`` (as ``supportbot eval --fit-ranking``/``--fit-quoting``/``--fit-decline``
print them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Self


@dataclass(frozen=True)
class LinearModel:
    """A logistic model: one weight per signal of the subclass's ``signals``, and a bias. A row
    of signals scores ``bias + weights · row``, a log-odds."""

    signals: ClassVar[tuple[str, ...]] = ()
    kind: ClassVar[str] = "linear"

    weights: tuple[float, ...]
    bias: float

    def __post_init__(self) -> None:
        if len(self.weights) != len(self.signals):
            raise ValueError(f"a {self.kind} model needs {len(self.signals)} weights")

    def score(self, row: Sequence[float]) -> float:
        """The log-odds of one row of signals (in ``signals`` order)."""
        return self.bias + sum(w * x for w, x in zip(self.weights, row, strict=True))

    def as_setting(self) -> str:
        """The model as ``parse`` reads it (a setting's value)."""
        return weights_setting(self.signals, self.weights, self.bias)

    @classmethod
    def parse(cls, text: str) -> Self:
        """A model from ``name=number`` pairs, one per signal, and ``bias``."""
        return cls(*parse_weights(text, cls.signals))


def weights_setting(names: Sequence[str], weights: Sequence[float], bias: float) -> str:
    """``weights`` and ``bias`` as ``parse_values`` reads them."""
    pairs = " ".join(f"{n}={w:g}" for n, w in zip(names, weights, strict=True))
    return f"{pairs} bias={bias:g}"


def parse_values(text: str, names: Sequence[str], optional: Sequence[str] = ()) -> dict[str, float]:
    """The number of each of ``names`` (and of those of ``optional`` given) in ``text``'s
    ``name=number`` pairs; ValueError naming a name that is missing, unknown or not a number."""
    values: dict[str, float] = {}
    for pair in text.replace(",", " ").split():
        name, _, number = pair.partition("=")
        if name not in names and name not in optional:
            known = ", ".join((*names, *optional))
            raise ValueError(f"unknown name {name!r} (expected {known})")
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
