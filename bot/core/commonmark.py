"""The one Markdown parser: how the core checks an answer's links and how every chat platform
reads the answer it renders. One parser for both, so what the core lets through is exactly
what the renderers see."""

from __future__ import annotations

from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode


class _Parser(MarkdownIt):
    """CommonMark with tables and strikethrough, parsing links whatever their scheme.

    markdown-it refuses ``javascript:`` and similar URLs by leaving ``[text](url)`` as literal
    text; parsing them instead lets a renderer keep the text and drop the URL.
    """

    def __init__(self) -> None:
        super().__init__("commonmark")
        self.enable("table").enable("strikethrough")

    def validateLink(self, url: str) -> bool:
        return True


PARSER = _Parser()


def parse_tokens(markdown: str, env: dict[str, Any] | None = None) -> list[Token]:
    """The token stream of ``markdown``; ``env`` receives the link reference definitions."""
    return PARSER.parse(markdown, {} if env is None else env)


def parse_markdown(markdown: str) -> SyntaxTreeNode:
    """The tree of ``markdown`` (CommonMark plus GitHub tables and strikethrough)."""
    return SyntaxTreeNode(parse_tokens(markdown))


def normalise_link(url: str) -> str:
    """``url`` as the parser stores a link's target (percent-encoded, punycode host)."""
    return PARSER.normalizeLink(url)
