"""Pieces into lines of text: cut at line breaks, spans settled, literal text escaped.

On a card, each line's bold and italic spans get the delimiters CommonMark will read as
intended, and its literal text is escaped knowing the characters around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.platforms.teams.markdown.escaping import escape, flanking
from bot.platforms.teams.markdown.pieces import (
    BOLD,
    ITALIC,
    ITALIC_IN_WORD,
    Context,
    Piece,
    Span,
)


def split_lines(pieces: Sequence[Piece]) -> list[list[Piece]]:
    """The pieces cut at their line breaks; a span open across a break is closed and reopened.

    On a card the lines become separate paragraphs, and emphasis cannot cross a paragraph.
    """
    lines: list[list[Piece]] = [[]]
    open_spans: list[Span] = []
    for piece in pieces:
        if piece.kind == "break":
            lines[-1] += [Piece("close", span=span) for span in reversed(open_spans)]
            lines.append([Piece("open", span=span) for span in open_spans])
            continue
        if piece.span is not None:
            if piece.kind == "open":
                open_spans.append(piece.span)
            else:
                open_spans.remove(piece.span)
        lines[-1].append(piece)
    return lines


def render_line(pieces: Sequence[Piece], ctx: Context) -> str:
    """One line of pieces as text: on a card, spans settled and literal text escaped."""
    pieces = _merge_texts(_tidy_spans(pieces))
    if ctx.plain:
        return "".join(piece.raw for piece in pieces)
    pieces = _merge_texts(_settle_spans(pieces))
    if pieces and pieces[-1].kind == "text":  # "\\" before a space the tidying removes
        pieces[-1] = replace(pieces[-1], text=pieces[-1].text.rstrip(" \t"))
    raws = [piece.raw for piece in pieces]
    rendered: list[str] = []
    for number, piece in enumerate(pieces):
        if piece.kind != "text":
            rendered.append(piece.raw)
            continue
        before, after = _neighbours(raws, number)
        rendered.append(
            escape(piece.text, before, after, line_start=number == 0, in_link=piece.in_link)
        )
    return "".join(rendered)


def _tidy_spans(pieces: Sequence[Piece]) -> list[Piece]:
    """Without empty text, spans around nothing, or a span that ends where a like one starts.

    ``____`` would show as literal text, and two italics side by side as ``*a**b*`` would read
    as bold: one italic over both looks the same.
    """
    kept: list[Piece] = []
    merged: dict[Span, Span] = {}  # a span continued by the like one that ended just before it
    for piece in pieces:
        if piece.span in merged:
            piece = replace(piece, span=merged[piece.span])
        if piece.kind == "text" and not piece.text:
            continue
        previous = kept[-1] if kept else None
        if previous is not None and previous.span is not None and piece.span is not None:
            if previous.kind == "open" and piece.kind == "close":
                kept.pop()
                continue
            if (previous.kind, piece.kind) == ("close", "open") and (
                previous.span.style == piece.span.style
            ):
                merged[piece.span] = previous.span
                kept.pop()
                continue
        kept.append(piece)
    return kept


def _merge_texts(pieces: Sequence[Piece]) -> list[Piece]:
    """Adjacent literal texts as one piece, so escaping sees them together."""
    merged: list[Piece] = []
    for piece in pieces:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and piece.kind == previous.kind == "text"
            and piece.in_link == previous.in_link
        ):
            merged[-1] = replace(previous, text=previous.text + piece.text)
        else:
            merged.append(piece)
    return merged


def _settle_spans(pieces: Sequence[Piece]) -> list[Piece]:
    """Delimiters CommonMark reads as written: italic "_" where it can, else "*".

    A span it could not read in either spelling (``**a)**b`` once a code span's backticks are
    gone) is dropped, keeping its text: plain text beats stray asterisks.
    """
    pieces = list(pieces)
    while True:
        spans = list(dict.fromkeys(piece.span for piece in pieces if piece.span is not None))
        for span in spans:
            for delimiter in (ITALIC, ITALIC_IN_WORD) if span.style == ITALIC else (BOLD,):
                span.delimiter = delimiter
                if _delimits(pieces, span):
                    break
        invalid = next((span for span in spans if not _delimits(pieces, span)), None)
        if invalid is None:
            return pieces
        pieces = [piece for piece in pieces if piece.span is not invalid]


def _delimits(pieces: Sequence[Piece], span: Span) -> bool:
    """Whether each end of the span is a delimiter run that can open or close, as it must.

    A run may join the ends of one bold and one italic span (``***``), not of two alike
    (``__`` would be bold, ``****`` is a bold in a bold).
    """
    chars: list[tuple[str, Span | None]] = [
        (char, piece.span) for piece in pieces for char in piece.raw
    ]
    position = 0
    open_spans: list[Span] = []
    for piece in pieces:
        start, position = position, position + len(piece.raw)
        if piece.span is not span:
            if piece.kind == "open" and piece.span is not None:
                open_spans.append(piece.span)
            elif piece.kind == "close" and piece.span in open_spans:
                open_spans.remove(piece.span)
            continue
        end = position
        char = span.delimiter[0]
        while start > 0 and chars[start - 1][1] is not None and chars[start - 1][0] == char:
            start -= 1
        while end < len(chars) and chars[end][1] is not None and chars[end][0] == char:
            end += 1
        owners = [owner for _, owner in chars[start:end]]
        styles = sorted(owner.style for owner in dict.fromkeys(owners) if owner is not None)
        if len(styles) > 1 and styles != sorted((BOLD, ITALIC)):
            return False
        before = chars[start - 1][0] if start else ""
        after = chars[end][0] if end < len(chars) else ""
        opens, closes = flanking(char, before, after)
        if not (opens if piece.kind == "open" else closes):
            return False
        # An opener that could also close would close a span opened before its run that is
        # spelled the same way.
        outer = [other for other in open_spans if other not in owners]
        if piece.kind == "open" and closes and any(char in o.delimiter for o in outer):
            return False
        if piece.kind == "open":
            open_spans.append(span)
    return True


def _neighbours(raws: Sequence[str], number: int) -> tuple[str, str]:
    """The characters just before and just after piece ``number``; "" at the line's ends."""
    return "".join(raws[:number])[-1:], "".join(raws[number + 1 :])[:1]
