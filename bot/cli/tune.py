"""The ``supportbot tune`` commands: export approved answers, start and follow a fine-tuning job."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from bot.cli import messages
from bot.cli.common import EXIT_FAILED, EXIT_OK, Commands, parse_scopes
from bot.cli.progress import Progress
from bot.cli.startup import prepare
from bot.core.prompts import Prompts
from bot.loop.examples import PgExampleStore
from bot.loop.tuning import messages as tuning_messages
from bot.loop.tuning.api import open_client
from bot.loop.tuning.export import (
    DEFAULT_MIN_EXAMPLES,
    DEFAULT_VALIDATION_SHARE,
    ExportOptions,
    export_examples,
    validation_path,
)
from bot.loop.tuning.finetune import FINISHED_BADLY, FineTuningJobs
from bot.loop.tuning.state import TuneState, load_state, save_state
from bot.loop.tuning.vocabulary import knowledge_words
from bot.service.settings import Settings
from bot.service.wiring import open_knowledge_base
from knowledge.types import PUBLIC_SCOPE


def register(commands: Commands) -> None:
    """Add ``tune`` and its steps to ``commands``."""
    tune_cmd = commands.add_parser(
        "tune", help="fine-tune a model on approved answers (export, start, status)"
    )
    tune_steps = tune_cmd.add_subparsers(dest="step", required=True, metavar="STEP")
    export_cmd = tune_steps.add_parser(
        "export", help="write approved answers as training and held-out JSON Lines files"
    )
    export_cmd.add_argument("out", type=Path, metavar="OUT.jsonl", help="the training file")
    export_cmd.add_argument(
        "--validation-share",
        type=float,
        default=DEFAULT_VALIDATION_SHARE,
        help=f"share held out for validation (default {DEFAULT_VALIDATION_SHARE})",
    )
    export_cmd.add_argument(
        "--min-examples",
        type=int,
        default=DEFAULT_MIN_EXAMPLES,
        help=f"refuse with fewer distinct examples (default {DEFAULT_MIN_EXAMPLES})",
    )
    export_cmd.add_argument(
        "--scopes",
        action="append",
        metavar="SCOPE[,SCOPE...]",
        help="who the tuned model will answer: only examples written from documents these "
        "scopes may all see go in (default public; repeatable)",
    )
    export_cmd.set_defaults(handler=_tune_export)
    start_cmd = tune_steps.add_parser("start", help="upload the export and start a job")
    start_cmd.add_argument(
        "--base-model", help="the model to tune (default SUPPORTBOT_TUNE_BASE_MODEL)"
    )
    start_cmd.add_argument(
        "--file", type=Path, metavar="OUT.jsonl", help="the training file (default: last export)"
    )
    start_cmd.set_defaults(handler=_tune_start)
    job_cmd = tune_steps.add_parser("status", help="how a fine-tuning job is doing")
    job_cmd.add_argument("job_id", nargs="?", metavar="JOB_ID", help="default: the last started")
    job_cmd.set_defaults(handler=_tune_status)


async def _tune_export(settings: Settings, args: argparse.Namespace) -> int:
    if not 0 < args.validation_share < 1 or args.min_examples < 2:
        print(messages.error(tuning_messages.bad_export_options()), file=sys.stderr)
        return EXIT_FAILED
    options = ExportOptions(
        out=args.out.resolve(),
        prompts=Prompts.load(settings.style_file),
        company=settings.company_name,
        validation_share=args.validation_share,
        min_examples=args.min_examples,
        scopes=frozenset(parse_scopes(args.scopes or [PUBLIC_SCOPE])),
    )
    await prepare(settings, Progress(), load_model=False)
    async with open_knowledge_base(settings, check_model=False) as kb:
        approved = await PgExampleStore(kb.engine).approved()
        words = await knowledge_words(kb.engine)
        try:
            result = await export_examples(
                approved, options, known_words=words, embedder=kb.embedder
            )
        except OSError as e:
            where = e.filename or options.out
            print(messages.error(f"{where}: {e.strerror or e}"), file=sys.stderr)
            return EXIT_FAILED
    state = load_state(settings.home)
    save_state(settings.home, TuneState(result.training, result.validation, state.job_id))
    print(tuning_messages.exported(**dataclasses.asdict(result)))
    return EXIT_OK


async def _tune_start(settings: Settings, args: argparse.Namespace) -> int:
    state = load_state(settings.home)
    training = args.file.resolve() if args.file else state.training_file
    if training is None:
        print(messages.error(tuning_messages.no_export_yet()), file=sys.stderr)
        return EXIT_FAILED
    if not training.is_file():
        print(messages.error(tuning_messages.training_file_missing(training)), file=sys.stderr)
        return EXIT_FAILED
    validation = (
        state.validation_file if training == state.training_file else validation_path(training)
    )
    if validation is not None and not validation.is_file():
        validation = None
    base_model = args.base_model or settings.tune_base_model
    async with open_client(settings) as client:
        job = await FineTuningJobs(client).start(training, validation, base_model)
    save_state(settings.home, TuneState(state.training_file, state.validation_file, job.job_id))
    uploaded = [(training, job.training_file_id)]
    if validation is not None and job.validation_file_id is not None:
        uploaded.append((validation, job.validation_file_id))
    print(
        tuning_messages.tune_started(
            job_id=job.job_id, base_model=job.base_model, uploaded=uploaded
        )
    )
    return EXIT_OK


async def _tune_status(settings: Settings, args: argparse.Namespace) -> int:
    job_id = args.job_id or load_state(settings.home).job_id
    if job_id is None:
        print(messages.error(tuning_messages.no_job_yet()), file=sys.stderr)
        return EXIT_FAILED
    async with open_client(settings) as client:
        report = await FineTuningJobs(client).report(job_id)
    print(
        messages.tune_status(
            job_id=report.job_id,
            status=report.status,
            base_model=report.base_model,
            trained_tokens=report.trained_tokens,
            events=[
                (f"{e.created_at:%Y-%m-%d %H:%M:%S}", e.level, e.message) for e in report.events
            ],
            fine_tuned_model=report.fine_tuned_model,
            error=report.error,
        )
    )
    return EXIT_FAILED if report.status in FINISHED_BADLY else EXIT_OK
