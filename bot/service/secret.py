"""Values that settings are made of: a ``Secret`` that never prints, and the settings error."""

from __future__ import annotations


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the variable."""


class Secret:
    """A string that never prints: repr and str show only that it is set."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def secret(value: str | None) -> Secret | None:
    return Secret(value) if value else None


def ids(value: str | None) -> tuple[str, ...]:
    """A list of ids separated by commas and/or spaces."""
    return tuple(part for part in (value or "").replace(",", " ").split() if part)
