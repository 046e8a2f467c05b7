"""The syntax tree of an answer's Markdown, which each chat platform renders its own way."""

from __future__ import annotations

from markdown_it import MarkdownIt
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


_PARSER = _Parser()


def parse_markdown(markdown: str) -> SyntaxTreeNode:
    """The tree of ``markdown`` (CommonMark plus GitHub tables and strikethrough)."""
    return SyntaxTreeNode(_PARSER.parse(markdown))
