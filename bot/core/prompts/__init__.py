"""Prompt templates and the default house style guide, as files.

Templates use ``$name`` placeholders (``string.Template``), so a style guide may contain any
braces it likes. The prompt version, a hash of every template and the style guide in use, goes
into the answer cache key: editing a prompt or the style never serves an answer written under
the old one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from string import Template

_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Prompts:
    """The loaded templates and style guide, and their combined version."""

    system: Template
    question: Template
    rewrite: Template
    judge: Template
    rerank: Template
    style: str
    version: str

    @classmethod
    def load(cls, style_file: Path | None = None) -> Prompts:
        """The bundled templates, with ``style_file`` (else the default style guide)."""
        texts = {
            name: (_HERE / f"{name}.md").read_text(encoding="utf-8")
            for name in ("system", "question", "rewrite", "judge", "rerank")
        }
        style = (style_file or _HERE / "style.md").read_text(encoding="utf-8").strip()
        digest = hashlib.sha256()
        for part in (*texts.values(), style):
            digest.update(part.encode())
            digest.update(b"\0")
        return cls(
            system=Template(texts["system"]),
            question=Template(texts["question"]),
            rewrite=Template(texts["rewrite"]),
            judge=Template(texts["judge"]),
            rerank=Template(texts["rerank"]),
            style=style,
            version=digest.hexdigest()[:12],
        )
