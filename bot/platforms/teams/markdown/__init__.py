"""Adaptive Card text from the Markdown an LLM writes.

The model answers in CommonMark with GitHub tables, but a Teams card's ``TextBlock`` shows only a
subset: ``**bold**``, ``_italic_``, ``- item`` and ``1. item`` lists and ``[text](url)`` links. No
headings, tables, code, images, quotes or HTML.

As for Slack, we parse with markdown-it-py and render its syntax tree rather than rewrite the raw
text with regexes. ``blocks`` renders the block nodes (``tables`` the tables); ``inline``
flattens inline content into ``pieces`` (literal text, our own markup, the ends of bold and
italic spans, line breaks); ``lines`` writes pieces out a line at a time, settling the spans and
escaping literal text by what surrounds it (``escaping``).

``to_plain_text`` renders the same tree without any markup, for notifications and the card's
``fallbackText``.
"""

from bot.platforms.teams.markdown.blocks import to_card_blocks, to_plain_text

__all__ = ["to_card_blocks", "to_plain_text"]
