"""The ``supportbot eval`` command: a run over a dataset, or ``--compare`` of two models."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from pathlib import Path

from tqdm import tqdm

from bot.cli import messages
from bot.cli.common import EXIT_FAILED, EXIT_OK, Commands
from bot.cli.progress import IngestCounter, Progress
from bot.cli.startup import prepare
from bot.core.answer_log import Prices
from bot.core.cache import NoAnswerCache
from bot.core.prompts import Prompts
from bot.core.writers import OFFLINE_MODEL
from bot.evaluation.corpus import open_eval_corpus
from bot.evaluation.dataset import read_dataset
from bot.evaluation.decline_fit import fit_decline
from bot.evaluation.html_report import html_report
from bot.evaluation.quoting_fit import fit_quoting
from bot.evaluation.ranking_fit import fit_ranking
from bot.evaluation.report import summary_table
from bot.evaluation.runner import EvalOptions, Evaluation, run_evaluation
from bot.loop.tuning import messages as tuning_messages
from bot.loop.tuning.api import require_api
from bot.loop.tuning.compare import compare_models, read_held_out
from bot.loop.tuning.report import comparison_table
from bot.loop.tuning.state import load_state
from bot.service.chat_models import build_chat_model, build_judge
from bot.service.settings import Settings
from bot.service.wiring import build_answer_service
from knowledge.loading import plan


def register(commands: Commands) -> None:
    """Add ``eval`` to ``commands``."""
    eval_cmd = commands.add_parser(
        "eval", help="measure retrieval and answers on questions with known answers"
    )
    eval_cmd.add_argument(
        "dataset",
        metavar="DATASET",
        nargs="?",
        help=(
            "a JSON Lines file, a public set's folder, 'sample' or 'sample-conversations' "
            "(not with --compare)"
        ),
    )
    eval_cmd.add_argument(
        "--compare",
        nargs=2,
        metavar=("MODEL_A", "MODEL_B"),
        help="instead of DATASET: two models side by side on the held-out examples of an export",
    )
    eval_cmd.add_argument(
        "--held-out",
        type=Path,
        metavar="FILE",
        help="with --compare: a validation file (default: the last export's)",
    )
    eval_cmd.add_argument("--corpus", type=Path, help="the documents (default: the set's docs/)")
    eval_cmd.add_argument("--k", type=int, default=5, help="retrieval cut-off (default 5)")
    eval_cmd.add_argument("--json", action="store_true", help="print the summary as JSON")
    eval_cmd.add_argument("--html", type=Path, metavar="PATH", help="write a report page")
    eval_cmd.add_argument(
        "--without-context", action="store_true", help="ask without the asker's situation"
    )
    eval_cmd.add_argument("--limit", type=int, help="only the first N questions")
    eval_cmd.add_argument(
        "--parallel", type=int, default=1, help="questions in flight at once (default 1)"
    )
    eval_cmd.add_argument("--results", type=Path, help="per-question results file (JSON Lines)")
    eval_cmd.add_argument(
        "--resume", action="store_true", help="continue an interrupted run from its results"
    )
    eval_cmd.add_argument("--judge-model", help="the LLM that grades answers (default: chat model)")
    eval_cmd.add_argument(
        "--fit-decline",
        action="store_true",
        help="also fit the 'is it covered?' decision on this set and print its weights",
    )
    eval_cmd.add_argument(
        "--fit-ranking",
        action="store_true",
        help="also fit the order of the search's candidates on this set and print its weights",
    )
    eval_cmd.add_argument(
        "--fit-quoting",
        action="store_true",
        help="also fit which sentences the offline writer quotes on this set and print its weights",
    )
    eval_cmd.set_defaults(handler=_eval)


async def _eval(settings: Settings, args: argparse.Namespace) -> int:
    if args.compare:
        return await _compare(settings, args)
    if args.dataset is None:
        print(messages.error(messages.eval_needs_dataset()), file=sys.stderr)
        return EXIT_FAILED
    if args.held_out is not None:
        print(messages.error(messages.held_out_needs_compare()), file=sys.stderr)
        return EXIT_FAILED
    eval_set = read_dataset(args.dataset, args.corpus)
    if args.k < 1 or args.parallel < 1 or (args.limit is not None and args.limit < 1):
        print(messages.error("--k, --parallel and --limit must be at least 1"), file=sys.stderr)
        return EXIT_FAILED
    suffix = "-question-only" if args.without_context else ""
    options = EvalOptions(
        results_path=args.results or settings.home / "eval" / f"{eval_set.name}{suffix}.jsonl",
        k=args.k,
        with_context=not args.without_context,
        parallel=args.parallel,
        limit=args.limit,
        resume=args.resume,
    )
    prompts = Prompts.load(settings.style_file)
    progress = Progress()
    await prepare(settings, progress, migrate_schema=False)  # the server, and the model
    load_plan = await asyncio.to_thread(plan, [str(eval_set.corpus)])
    counter = IngestCounter.of(load_plan, answerable=False)

    async with contextlib.AsyncExitStack() as stack:
        with progress.status(counter.line):
            corpus = await stack.enter_async_context(
                open_eval_corpus(settings, eval_set, counter.count)
            )
        evaluation = Evaluation(
            corpus=corpus,
            answers=build_answer_service(corpus.settings, corpus.kb, prompts, NoAnswerCache()),
            judge=build_judge(settings, prompts, args.judge_model),
            prices=Prices(settings.prompt_price_per_1k, settings.completion_price_per_1k),
            answer_model=settings.chat_model or OFFLINE_MODEL,
            top_k=settings.top_k,
        )
        total = min(len(eval_set.cases), args.limit or len(eval_set.cases))
        with tqdm(total=total, desc="Evaluating", unit=" q", file=sys.stderr, disable=None) as bar:
            summary, results = await run_evaluation(evaluation, eval_set, options, bar.update)
        fitted: list[str] = []
        fit_error = None
        try:
            if args.fit_ranking:
                with progress.status(lambda: "Fitting the ranking"):
                    ranking = await fit_ranking(corpus, eval_set, options.with_context, options.k)
                fitted.append(messages.ranking_fitted(ranking))
            if args.fit_quoting:
                with progress.status(lambda: "Fitting the quoting"):
                    quoting = await fit_quoting(
                        corpus, eval_set, options.with_context, evaluation.top_k
                    )
                fitted.append(messages.quoting_fitted(quoting))
        except ValueError as e:
            fit_error = str(e)
    if args.html:
        args.html.write_text(html_report(summary, results), encoding="utf-8")
    if args.json:
        print(json.dumps(summary.to_json(), indent=2))
    else:
        print(summary_table(summary))
    print(messages.eval_written(options.results_path, args.html), file=sys.stderr)
    for line in fitted:
        print(line)
    if fit_error is not None:
        print(messages.error(fit_error), file=sys.stderr)
        return EXIT_FAILED
    if args.fit_decline:
        try:
            print(messages.decline_fitted(fit_decline(results)))
        except ValueError as e:
            print(messages.error(str(e)), file=sys.stderr)
            return EXIT_FAILED
    return EXIT_OK


# What --compare cannot take: the options of a DATASET run, and their defaults.
_DATASET_ONLY = {
    "corpus": ("--corpus", None),
    "k": ("--k", 5),
    "html": ("--html", None),
    "without_context": ("--without-context", False),
    "limit": ("--limit", None),
    "parallel": ("--parallel", 1),
    "results": ("--results", None),
    "resume": ("--resume", False),
    "json": ("--json", False),
    "fit_decline": ("--fit-decline", False),
    "fit_ranking": ("--fit-ranking", False),
    "fit_quoting": ("--fit-quoting", False),
}


async def _compare(settings: Settings, args: argparse.Namespace) -> int:
    if args.dataset is not None:
        print(messages.error(messages.eval_dataset_or_compare()), file=sys.stderr)
        return EXIT_FAILED
    given = [
        name for key, (name, default) in _DATASET_ONLY.items() if getattr(args, key) != default
    ]
    if given:
        print(messages.error(messages.eval_compare_alone(given)), file=sys.stderr)
        return EXIT_FAILED
    require_api(settings)
    held_out = args.held_out or load_state(settings.home).validation_file
    if held_out is None:
        print(messages.error(tuning_messages.no_held_out()), file=sys.stderr)
        return EXIT_FAILED
    examples = read_held_out(held_out)
    prompts = Prompts.load(settings.style_file)
    judge = build_judge(settings, prompts, args.judge_model)
    models = [build_chat_model(settings, name) for name in args.compare]
    with tqdm(
        total=len(examples), desc="Comparing", unit=" ex", file=sys.stderr, disable=None
    ) as bar:
        figures = await compare_models(examples, models, judge, bar.update)
    print(comparison_table(figures, source=held_out, judge=judge.name))
    for result in figures:
        for example, reason in result.errors:
            print(tuning_messages.compare_error(result.model, example, reason), file=sys.stderr)
    return EXIT_OK
