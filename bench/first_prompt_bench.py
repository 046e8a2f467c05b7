"""How long a new user waits: `supportbot demo` on a fresh SUPPORTBOT_HOME (embedded Postgres
and Redis, the bundled model, the sample handbook), as `make run` runs it after installing.

Prints, per run: seconds to the first prompt, to the answer of a question asked at once, and
(with a one-question `demo`, which waits for the whole handbook) to the answer from all of it.

    .venv/bin/python bench/first_prompt_bench.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUESTION = "How many weeks of partner leave do I get?"
SUPPORTBOT = Path(sys.executable).with_name("supportbot")


def _environment(home: Path) -> dict[str, str]:
    """The embedded defaults on ``home``, whatever this shell has configured."""
    configured = ("SUPPORTBOT_", "OPENAI_", "DATABASE_URL", "REDIS_URL")
    keep = {k: v for k, v in os.environ.items() if not k.startswith(configured)}
    return keep | {"SUPPORTBOT_HOME": str(home)}


def chat_run(home: Path) -> tuple[float, float]:
    """Seconds to the prompt, and to the answer of the question typed as soon as it appears."""
    start = time.monotonic()
    process = subprocess.Popen(
        [str(SUPPORTBOT), "demo"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=_environment(home),
    )
    assert process.stdin is not None and process.stdout is not None
    output, prompt_at, answer_at = b"", None, None
    while answer_at is None and time.monotonic() - start < 600:
        ready, _, _ = select.select([process.stdout], [], [], 1)
        if not ready:
            continue
        chunk = os.read(process.stdout.fileno(), 4096)
        if not chunk:
            break
        output += chunk
        if prompt_at is None and b"you>" in output:
            prompt_at = time.monotonic() - start
            process.stdin.write(f"{QUESTION}\n/quit\n".encode())
            process.stdin.flush()
        if prompt_at is not None and b"Sources:" in output:
            answer_at = time.monotonic() - start
    process.wait(120)
    if prompt_at is None or answer_at is None:
        raise SystemExit(f"demo did not answer: {output.decode(errors='replace')[-300:]}")
    return prompt_at, answer_at


def full_load_run(home: Path) -> float:
    """Seconds until a one-question demo, which loads the whole handbook first, has answered."""
    start = time.monotonic()
    subprocess.run(
        [str(SUPPORTBOT), "demo", QUESTION],
        env=_environment(home),
        check=True,
        capture_output=True,
    )
    return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    prompts, answers, loads = [], [], []
    for run in range(1, args.runs + 1):
        for kind in ("chat", "load"):
            home = Path(tempfile.mkdtemp(prefix="sb-first-", dir="/tmp"))
            try:
                if kind == "chat":
                    prompt, answer = chat_run(home)
                    prompts.append(prompt)
                    answers.append(answer)
                    print(f"run {run}: first prompt {prompt:.1f} s, first answer {answer:.1f} s")
                else:
                    loads.append(full_load_run(home))
                    print(f"run {run}: whole handbook loaded and answered {loads[-1]:.1f} s")
            finally:
                shutil.rmtree(home, ignore_errors=True)
    print(
        f"median of {args.runs}: first prompt {statistics.median(prompts):.1f} s, "
        f"first answer {statistics.median(answers):.1f} s, "
        f"whole handbook {statistics.median(loads):.1f} s"
    )


if __name__ == "__main__":
    main()
