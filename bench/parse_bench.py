"""Benchmark of what parsing in a child process costs per document.

Parses every file of the sample handbook (from bytes already read) ``--rounds`` times in this
process (``parse``) and through the bounded worker (``parse_bounded``: a reused child process),
and prints the median round of each, the difference per document, and what starting the first
child process took. Needs no database.

Run from the repository root::

    .venv/bin/python bench/parse_bench.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from knowledge.loading.isolation import parse_bounded
from knowledge.loading.limits import ParseLimits
from knowledge.loading.parsing import parse
from knowledge.loading.sources import files_in, read_file
from knowledge.samples import SAMPLE_DOCS


async def main(rounds: int) -> None:
    files, _ = files_in(Path(SAMPLE_DOCS))
    sources = [read_file(f, root=None, base_url=None, max_bytes=1 << 30) for f in files]
    limits = ParseLimits()
    started = time.perf_counter()
    await parse_bounded(sources[0], limits)  # starts the child process
    startup = time.perf_counter() - started
    here: list[float] = []
    bounded: list[float] = []
    for _ in range(rounds):
        started = time.perf_counter()
        for source in sources:
            parse(source, limits)
        here.append(time.perf_counter() - started)
        started = time.perf_counter()
        for source in sources:
            await parse_bounded(source, limits)
        bounded.append(time.perf_counter() - started)
    in_process, isolated = statistics.median(here), statistics.median(bounded)
    count = len(sources)
    print(f"{count} sample documents, median of {rounds} rounds")
    for label, seconds in (("in this process:", in_process), ("bounded worker:", isolated)):
        print(f"  {label:16} {seconds * 1000:7.1f} ms ({seconds / count * 1000:.2f} ms each)")
    print(f"  cost per document: {(isolated - in_process) / count * 1000:.2f} ms")
    print(f"  first child process started and answered in {startup * 1000:.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    asyncio.run(main(parser.parse_args().rounds))
