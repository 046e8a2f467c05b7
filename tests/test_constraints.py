"""constraints.txt, the versions every install takes, covers pyproject.toml and agrees with it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PINNED = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;]+)", re.MULTILINE)


def pins(text: str) -> dict[str, Version]:
    return {canonicalize_name(name): Version(v) for name, v in PINNED.findall(text)}


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    return [Requirement(r) for r in project["dependencies"] + extras["local"]
            + extras["embedded"] + extras["dev"]]  # fmt: skip


def disagreements(constraints: str) -> list[str]:
    """Each declared dependency that constraints.txt leaves out or pins outside its range."""
    pinned = pins(constraints)
    problems = []
    for requirement in declared():
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{requirement.name} is not pinned")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement.name}=={version} is outside {requirement.specifier}")
    return problems


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    assert disagreements((ROOT / "constraints.txt").read_text()) == []


def test_a_pin_outside_the_declared_range_is_found() -> None:
    text = (ROOT / "constraints.txt").read_text()
    stale = re.sub(r"^sqlalchemy==\S+", "sqlalchemy==3.0.0", text, flags=re.MULTILINE)
    missing = re.sub(r"^openai==\S+\n", "", text, flags=re.MULTILINE)
    [outside] = disagreements(stale)
    assert outside.startswith("sqlalchemy==3.0.0 is outside")
    assert disagreements(missing) == ["openai is not pinned"]


@pytest.mark.parametrize("command", ["pip install", "-c $(CONSTRAINTS)"])
def test_the_makefile_installs_the_project_from_the_constraints(command: str) -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "CONSTRAINTS := constraints.txt" in makefile
    [install] = [line for line in makefile.splitlines() if "-e '.[" in line]
    assert command in install
