"""Draw the two Teams app icons, ``color.png`` and ``outline.png``, with the standard library only.

    python deploy/teams/make_icons.py [--out-dir DIR]   # default: next to this script

The design is a speech bubble with a question mark in it, built from rounded rectangles, a
triangle, a ring and circles:

* ``color.png``, 192x192: a rounded square in the accent colour (the manifest's ``accentColor``),
  a white bubble inside Teams' 120x120 safe area and the question mark in the accent colour.
* ``outline.png``, 32x32: the white bubble with the question mark cut out, on a transparent
  background (Teams draws this one on its own backgrounds, so it must be white and transparent).

Edges are anti-aliased by sampling every pixel on a 4x4 grid. The PNGs are 8-bit RGBA written
with ``zlib`` and ``struct``; running the script again rewrites the same images.
"""

from __future__ import annotations

import argparse
import struct
import sys
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ACCENT = (0x1D, 0x4E, 0x89)  # = accentColor in manifest.json and the Slack app's background
WHITE = (255, 255, 255)
COLOR_SIZE, OUTLINE_SIZE = 192, 32
SUBSAMPLES = 4  # per axis

Pixel = tuple[int, int, int, int]  # RGBA, 0-255
Paint = Callable[[float, float], tuple[int, int, int] | None]  # point in [0, 1)² → colour or none


def _in_rounded_rect(x: float, y: float, box: tuple[float, float, float, float], r: float) -> bool:
    left, top, right, bottom = box
    if not (left <= x <= right and top <= y <= bottom):
        return False
    cx = min(max(x, left + r), right - r)
    cy = min(max(y, top + r), bottom - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


Point = tuple[float, float]


def _in_triangle(x: float, y: float, a: Point, b: Point, c: Point) -> bool:
    def side(p: Point, q: Point) -> float:
        return (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0])

    d1, d2, d3 = side(a, b), side(b, c), side(c, a)
    return (d1 >= 0 and d2 >= 0 and d3 >= 0) or (d1 <= 0 and d2 <= 0 and d3 <= 0)


def in_bubble(x: float, y: float) -> bool:
    """The speech bubble, in glyph coordinates ([0, 1)², y downwards): a body and a tail."""
    return _in_rounded_rect(x, y, (0.04, 0.06, 0.96, 0.74), 0.18) or _in_triangle(
        x, y, (0.20, 0.66), (0.46, 0.66), (0.14, 0.95)
    )


def in_question_mark(x: float, y: float) -> bool:
    """The question mark: a hook (a ring without its lower-left quarter), a stem and a dot."""
    cx, cy, outer, inner = 0.5, 0.30, 0.165, 0.085
    d2 = (x - cx) ** 2 + (y - cy) ** 2
    hook = inner * inner <= d2 <= outer * outer and not (x < cx and y > cy)
    half_stroke = (outer - inner) / 2
    stem = abs(x - cx) <= half_stroke and cy + inner <= y <= 0.52
    dot = (x - cx) ** 2 + (y - 0.615) ** 2 <= 0.05**2
    return hook or stem or dot


def _paint_color(x: float, y: float) -> tuple[int, int, int] | None:
    if not _in_rounded_rect(x, y, (0.0, 0.0, 1.0, 1.0), 0.22):
        return None
    # The glyph fills the middle 120/192 of the icon: Teams' safe area.
    inset = (1 - 120 / 192) / 2
    gx, gy = (x - inset) / (1 - 2 * inset), (y - inset) / (1 - 2 * inset)
    if in_bubble(gx, gy):
        return ACCENT if in_question_mark(gx, gy) else WHITE
    return ACCENT


def _paint_outline(x: float, y: float) -> tuple[int, int, int] | None:
    return WHITE if in_bubble(x, y) and not in_question_mark(x, y) else None


def render(size: int, paint: Paint) -> list[list[Pixel]]:
    """Rows of RGBA pixels: each pixel averages ``paint`` over a grid of points inside it."""
    rows = []
    n = SUBSAMPLES
    for py in range(size):
        row = []
        for px in range(size):
            r = g = b = covered = 0
            for sy in range(n):
                for sx in range(n):
                    colour = paint((px + (sx + 0.5) / n) / size, (py + (sy + 0.5) / n) / size)
                    if colour is not None:
                        r, g, b, covered = r + colour[0], g + colour[1], b + colour[2], covered + 1
            if covered:  # straight (not premultiplied) alpha: average of the covered samples
                pixel = (
                    round(r / covered),
                    round(g / covered),
                    round(b / covered),
                    round(255 * covered / (n * n)),
                )
            else:
                pixel = (0, 0, 0, 0)
            row.append(pixel)
        rows.append(row)
    return rows


def png_bytes(rows: Sequence[Sequence[Pixel]]) -> bytes:
    """An 8-bit RGBA, non-interlaced PNG of ``rows`` (every scanline with filter type 0)."""
    height, width = len(rows), len(rows[0])

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + bytes(channel for pixel in row for channel in pixel) for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8 bits, RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def make_icons(out_dir: Path = HERE) -> list[Path]:
    """Write ``color.png`` and ``outline.png`` into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, size, paint in (
        ("color.png", COLOR_SIZE, _paint_color),
        ("outline.png", OUTLINE_SIZE, _paint_outline),
    ):
        path = out_dir / name
        path.write_bytes(png_bytes(render(size, paint)))
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Draw the Teams app icons.")
    parser.add_argument("--out-dir", type=Path, default=HERE, help="default: %(default)s")
    args = parser.parse_args(argv)
    for path in make_icons(args.out_dir):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
