"""Writing files so that a reader sees either the old contents or the whole new ones."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path


def write_atomically(files: Mapping[Path, str]) -> None:
    """Write every file in full before any takes its name; on failure none is left behind.

    Each file is written to a temporary file beside it and renamed over the target, so a
    crash or a full disk leaves no partial file. Raises ``OSError``.
    """
    for path in files:
        if path.is_dir():  # found now, before any file has taken its name
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    written: dict[Path, Path] = {}
    try:
        for path, content in files.items():
            handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            written[path] = Path(name)
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(content)
        for path, temporary in written.items():
            os.replace(temporary, path)
    finally:
        for temporary in written.values():
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
