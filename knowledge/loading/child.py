"""The parsing process: reads ``(RawSource, ParseLimits)`` requests, answers with a reply each.

Started by ``knowledge.loading.isolation`` as ``python -c`` with two pipe descriptors; it ends
when the request pipe closes (its parent ended or retired it). A reply is ``("document",
Document)`` or ``("error", reason)``; ``("retire", reason)`` is an error after which this
process should not be used again (it ran out of memory).
"""

from __future__ import annotations

import os
import signal
import sys
from multiprocessing.connection import Connection
from typing import Any

from knowledge.errors import LoadError
from knowledge.loading.limits import MEGABYTE, ParseLimits
from knowledge.loading.parsing import parse
from knowledge.loading.sources import RawSource

try:
    import resource
except ImportError:  # not on Windows: there only the deadline applies
    resource = None  # type: ignore[assignment]


def main() -> None:
    """Serve requests on the descriptors named in ``sys.argv[1:3]`` until the parent leaves."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a parse stops
    requests = Connection(int(sys.argv[1]), writable=False)
    replies = Connection(int(sys.argv[2]), readable=False)
    baseline = _address_space()
    replies.send(("ready", os.getpid()))
    while True:
        try:
            source, limits = requests.recv()
        except EOFError:
            return
        _cap_memory(baseline, limits)
        replies.send(_reply(source, limits))


def _reply(source: RawSource, limits: ParseLimits) -> tuple[str, Any]:
    try:
        return ("document", parse(source, limits))
    except LoadError as e:
        if _out_of_memory(e):
            return ("retire", f"needed over the {limits.memory_mb} MB memory limit to parse")
        return ("error", e.reason)
    except MemoryError:
        return ("retire", f"needed over the {limits.memory_mb} MB memory limit to parse")
    except Exception as e:  # a parser's bug: fail this document, not the batch
        if _out_of_memory(e):
            return ("retire", f"needed over the {limits.memory_mb} MB memory limit to parse")
        first_line = (str(e).strip().splitlines() or [""])[0]
        return ("error", f"could not be parsed ({type(e).__name__}: {first_line})")


def _out_of_memory(error: BaseException) -> bool:
    """Whether an allocation failed: lxml tells it in its error log, not with a MemoryError."""
    seen: BaseException | None = error
    for _ in range(5):
        if seen is None:
            return False
        said = f"{seen} {getattr(seen, 'error_log', '')}".lower()
        if isinstance(seen, MemoryError) or "no_memory" in said or "allocation failed" in said:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _address_space() -> int | None:
    """This process's virtual memory size in bytes, where ``/proc`` tells it (Linux)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _cap_memory(baseline: int | None, limits: ParseLimits) -> None:
    # RLIMIT_AS counts the interpreter and its libraries too: the cap is on what parsing adds.
    if resource is None or baseline is None:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = baseline + limits.memory_mb * MEGABYTE
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    except (ValueError, OSError):  # not enforced or not allowed here: the deadline still holds
        return


if __name__ == "__main__":
    main()
