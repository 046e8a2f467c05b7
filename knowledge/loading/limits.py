"""How much one document may cost to parse, overall and per format.

A parse runs in a separate process (``knowledge.loading.isolation``) that is stopped at the
deadline and cannot grow past the memory cap; the format limits refuse the known ways a small
file makes a parser do huge work, before that work starts and with a clearer reason.
"""

from __future__ import annotations

from dataclasses import dataclass

MEGABYTE = 1024 * 1024


@dataclass(frozen=True)
class ParseLimits:
    """Limits on parsing one document; each one refused is named in the ``LoadError``.

    ``seconds``: the deadline for parsing one document, whatever its format.
    ``memory_mb``: the address space the parsing process may add while parsing (where the OS
    enforces ``RLIMIT_AS``: Linux; elsewhere only the deadline holds).
    ``docx_max_members``, ``docx_max_unpacked_mb``, ``docx_max_ratio``: a Word file's zip
    directory is checked before anything is decompressed: how many files it holds, their
    total size once decompressed, and how many times smaller than that a large member may be
    stored (text compresses about 10 times; a zip bomb about 1000 times).
    ``pdf_max_pages``: longer PDFs are refused rather than cut, so no answer misses their end.
    ``html_max_mb``, ``html_max_elements``, ``html_max_depth``: HTML pages are counted in one
    cheap pass before the page is built in memory (a MB of dense markup costs ~100 MB and
    seconds to build); 256 levels is as deep as libxml2 builds an HTML tree by itself.
    """

    seconds: float = 30.0
    memory_mb: int = 1024
    docx_max_members: int = 1000
    docx_max_unpacked_mb: float = 100.0
    docx_max_ratio: float = 100.0
    pdf_max_pages: int = 500
    html_max_mb: float = 5.0
    html_max_elements: int = 200_000
    html_max_depth: int = 256


def megabytes(size: float) -> str:
    """``size`` bytes as a person reads it in an error: ``"12.3 MB"``."""
    return f"{size / MEGABYTE:.1f} MB"
