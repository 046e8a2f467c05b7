"""A table, which cards cannot show, as one bullet per row with each cell labelled."""

from __future__ import annotations

from markdown_it.tree import SyntaxTreeNode

from bot.platforms.markdown_tree import inline_children
from bot.platforms.teams.markdown.inline import inline_pieces
from bot.platforms.teams.markdown.lines import render_line
from bot.platforms.teams.markdown.pieces import BULLET, Context, Piece, markup

_LABEL_SEPARATOR = ": "
_CELL_SEPARATOR = "; "


def table(node: SyntaxTreeNode, ctx: Context) -> str:
    """A table as one bullet per body row, each cell labelled with its column's header.

    Cards have no tables; empty cells are left out, and so are rows with nothing in them.
    """
    rows = [row for section in node.children for row in section.children]
    if not rows:
        return ""
    headers = rows[0].children
    lines: list[str] = []
    for row in rows[1:]:
        pieces: list[Piece] = []
        for header, cell in zip(headers, row.children, strict=False):
            if not inline_children(cell):
                continue
            if pieces:
                pieces.append(markup(_CELL_SEPARATOR))
            # Rendered again for every row: spans in pieces are settled per line.
            if label := inline_pieces(inline_children(header), ctx, one_line=True):
                pieces += [*label, markup(_LABEL_SEPARATOR)]
            pieces += inline_pieces(inline_children(cell), ctx, one_line=True)
        if pieces:
            lines.append(f"{BULLET} {render_line(pieces, ctx)}")
    if lines:
        return "\n".join(lines)
    # A header row alone.
    labels: list[Piece] = []
    for header in headers:
        if label := inline_pieces(inline_children(header), ctx, one_line=True):
            labels += [markup(_CELL_SEPARATOR), *label] if labels else label
    return render_line(labels, ctx)
