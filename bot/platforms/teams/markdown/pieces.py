"""What inline content is flattened into before it is written out: pieces and their spans.

A piece is literal text, markup we write, one end of a bold or italic span, or a line break.
Keeping literal text apart from our own markup lets escaping see what surrounds it. The
``Context`` says how the pieces render: as card Markdown or plain text, and where they sit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

BULLET = "-"
BOLD = "**"
ITALIC = "_"
# "_" cannot open or close emphasis inside a word ("snake_case"); "*" can.
ITALIC_IN_WORD = "*"


@dataclass(frozen=True)
class Context:
    """How blocks render: as card Markdown or plain text, and where they sit."""

    plain: bool
    in_list: bool = False
    keep_lines: bool = False  # inside a quote, a soft line break keeps its line

    @property
    def newline(self) -> str:
        """Between two lines of one block; outside a list Teams needs a blank line for it."""
        return "\n" if self.plain or self.in_list else "\n\n"

    @property
    def block_separator(self) -> str:
        """Between two blocks inside a quote or a list item: a list cannot hold a blank line."""
        return "\n" if self.in_list else "\n\n"


CARD = Context(plain=False)
PLAIN = Context(plain=True)


class Span:
    """Bold or italic around some pieces; an italic span settles on "_" or "*" by its context."""

    def __init__(self, delimiter: str) -> None:
        self.style = delimiter  # BOLD or ITALIC
        self.delimiter = delimiter


Kind = Literal["text", "markup", "open", "close", "break"]


@dataclass(frozen=True)
class Piece:
    """Literal text, markup we write, one end of a span, or a line break."""

    kind: Kind
    text: str = ""
    span: Span | None = None
    in_link: bool = False  # literal text inside a link's [text], where brackets must be escaped

    @property
    def raw(self) -> str:
        """The piece as written, before its text is escaped."""
        return self.span.delimiter if self.span is not None else self.text


BREAK = Piece("break")


def literal(text: str, in_link: bool = False) -> Piece:
    """Text to show as written, escaped where it would read as markup."""
    return Piece("text", text, in_link=in_link)


def markup(text: str) -> Piece:
    """Markup we write ourselves, never escaped."""
    return Piece("markup", text)


def wrap(pieces: list[Piece], delimiter: str) -> list[Piece]:
    """The pieces inside a new span, with any whitespace at their ends moved outside it.

    CommonMark reads ``** x**`` as literal asterisks, so the span must hug its text.
    """
    if not has_content(pieces):
        return pieces
    before: list[Piece] = []
    after: list[Piece] = []
    first, last = pieces[0], pieces[-1]
    if first.kind == "text" and (stripped := first.text.lstrip()) != first.text:
        before = [replace(first, text=first.text[: len(first.text) - len(stripped)])]
        pieces = [replace(first, text=stripped), *pieces[1:]]
    if last.kind == "text" and (stripped := last.text.rstrip()) != last.text:
        after = [replace(last, text=last.text[len(stripped) :])]
        pieces = [*pieces[:-1], replace(pieces[-1], text=stripped)]
    span = Span(delimiter)
    return [*before, Piece("open", span=span), *pieces, Piece("close", span=span), *after]


def has_content(pieces: Sequence[Piece]) -> bool:
    """Whether any text or markup among the pieces is more than whitespace."""
    return any(piece.kind in ("text", "markup") and piece.text.strip() for piece in pieces)
