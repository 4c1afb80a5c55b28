"""The `revthink` command line: one command a stage, each taking an experiment config.

    revthink run [CONFIG] [a.b=c ...]       every stage, skipping finished ones; a config
                                            with `sweep:` runs each combination
    revthink augment|train|evaluate CONFIG  one stage
    revthink report RUN_DIR [RUN_DIR ...]   report.md + report.html
    revthink export RUN --method M --to DIR a trained method, its cards and data, to share
    revthink data list | show NAME          the dataset registry
    revthink probe reversal CONFIG          facts learnt one way, asked both ways
    revthink validate [PATH ...]            every shipped config and registry entry, or those

Exit codes: 0 done, 1 an error (a message naming the file and key at fault, or a config that
`validate` rejects), 2 a usage error (unknown command, missing argument, bad option value),
130 interrupted. Every error is one message on stderr, never a traceback.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from revthink import __version__
from revthink.config import ExperimentConfig, load_config
from revthink.data.commands import app as data_app
from revthink.errors import ConfigError, RevthinkError
from revthink.lock import run_lock
from revthink.terminal import table_console

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Reverse-Enhanced Thinking.")
app.add_typer(data_app, name="data", help="List and inspect datasets.")
probe_app = typer.Typer(no_args_is_help=True, add_completion=False)
app.add_typer(probe_app, name="probe", help="Probe what a student has learnt.")
console = Console(stderr=True)

DEFAULT_CONFIG = Path(__file__).parent / "configs" / "quickstart.yaml"
EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130

# What typer raises for a usage error: a ClickException, from its own copy of click since
# typer 0.2x and from click itself before. typer.BadParameter is one in both, so its base is it.
ClickError: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)

ConfigArg = Annotated[Path, typer.Argument(help="Experiment YAML.", show_default=False)]
Overrides = Annotated[list[str] | None, typer.Argument(help="Overrides of the form a.b=c.")]
OutputAnywhere = Annotated[
    bool, typer.Option("--output-anywhere", help="Allow an output_dir outside the working "
                       "folder, the home folder and the temporary folder.")
]


def _config(
    path: Path, overrides: list[str] | None, *, augments: bool = False, anywhere: bool = False
) -> ExperimentConfig:
    """The config, with every dataset it names checked before any stage spends time or money
    (and, for a command that ``augments``, the teacher against its dataset)."""
    from revthink.validation import check_references

    config = load_config(path, overrides or [])
    check_references(config, path, augments=augments)
    _check_output_dir(Path(config.output_dir), anywhere)
    return config


def _check_output_dir(folder: Path, anywhere: bool) -> None:
    """``output_dir`` must be a folder, or not exist yet below one: a file there would fail the
    first stage halfway with NotADirectoryError. It must lie below the working folder, the home
    folder or the temporary folder unless ``anywhere``: a config from elsewhere (or a typo such
    as ``/runs``) must not write into system folders unasked."""
    for part in (folder, *folder.parents):
        if part.exists():
            if not part.is_dir():
                raise ConfigError(
                    f"key 'output_dir': {part} is a file, not a folder; choose another output_dir"
                )
            break
    if anywhere:
        return
    target = folder.expanduser().resolve()
    roots = {Path.cwd().resolve(), Path(tempfile.gettempdir()).resolve()}
    home = Path.home().resolve()
    roots |= {home} if home != Path(home.anchor) else set()  # a home of / would allow anything
    if not any(target.is_relative_to(root) for root in roots):
        raise ConfigError(
            f"key 'output_dir': {target} is outside the working folder, the home folder and "
            f"the temporary folder ({', '.join(sorted(map(str, roots)))}); pass "
            "--output-anywhere to write there"
        )


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        typer.echo(f"revthink {__version__}")
        raise typer.Exit()


@app.command()
def augment(
    config: ConfigArg,
    overrides: Overrides = None,
    estimate: Annotated[
        bool, typer.Option("--estimate", help="Project calls, tokens, time, cost and kept "
                           "records from a small sample; write nothing.")
    ] = False,
    sample: Annotated[int, typer.Option(help="Problems the estimate augments.")] = 10,
    output_anywhere: OutputAnywhere = False,
) -> None:
    """Teacher augmentation: records.jsonl, funnel.json, ledger.json."""
    cfg = _config(config, overrides, augments=True, anywhere=output_anywhere)  # fail at once
    if estimate:
        from revthink.augment.estimate import estimate as project

        typer.echo("\n".join(project(cfg, sample).lines()))
        return
    from revthink.augment.stage import run

    with run_lock(cfg.run_dir, "augment"):
        typer.echo(run(cfg))


@app.command()
def train(
    config: ConfigArg, overrides: Overrides = None, output_anywhere: OutputAnywhere = False
) -> None:
    """Fine-tune the student with every trained method of the config."""
    cfg = _config(config, overrides, anywhere=output_anywhere)  # fail at once
    from revthink.pipeline import with_cards
    from revthink.train.stage import run

    with run_lock(cfg.run_dir, "train"):
        typer.echo(with_cards(run, cfg))


@app.command()
def evaluate(
    config: ConfigArg, overrides: Overrides = None, output_anywhere: OutputAnywhere = False
) -> None:
    """Forward-only answers of every method on every benchmark, scored."""
    cfg = _config(config, overrides, anywhere=output_anywhere)  # fail at once
    from revthink.evaluate.stage import run
    from revthink.pipeline import with_cards
    from revthink.report.stage import results_table

    with run_lock(cfg.run_dir, "evaluate"):
        out = with_cards(run, cfg)
    table_console().print(results_table([cfg.run_dir]))
    typer.echo(out)


@probe_app.command()
def reversal(
    config: ConfigArg, overrides: Overrides = None, output_anywhere: OutputAnywhere = False
) -> None:
    """Facts learnt one way, asked both ways; celebrity parents and children per student."""
    cfg = _config(config, overrides, anywhere=output_anywhere)  # fail at once
    from revthink.probe.reversal import run
    from revthink.probe.tables import results_table

    with run_lock(cfg.run_dir, "probe reversal"):
        out = run(cfg)
    table_console().print(results_table(out))
    typer.echo(out)


@app.command()
def report(
    run_dirs: Annotated[list[Path], typer.Argument(help="Run folders to report on.")],
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: first run's report/).")
    ] = None,
) -> None:
    """report.md and a self-contained report.html with tables and plots."""
    from revthink.report.stage import run

    typer.echo(run(run_dirs, out))


@app.command()
def export(
    run_dir: Annotated[Path, typer.Argument(help="Run folder (runs/<name>).", show_default=False)],
    method: Annotated[str, typer.Option(help="Trained method to export.", show_default=False)],
    to: Annotated[Path, typer.Option(help="New folder to write.", show_default=False)],
    merge: Annotated[
        bool, typer.Option("--merge", help="Merge the adapter: a plain transformers model.")
    ] = False,
    gguf: Annotated[
        bool, typer.Option("--gguf", help="Also write a GGUF file for llama.cpp (with --merge).")
    ] = False,
    gguf_type: Annotated[
        str, typer.Option(help="GGUF tensor type: f32, f16 or q8_0.")
    ] = "f16",
    push_to_hub: Annotated[
        str | None, typer.Option(help="Upload to this Hub repo (token from $HF_TOKEN).")
    ] = None,
) -> None:
    """The trained weights (or merged model), model and dataset cards, and the data as parquet."""
    from revthink.export.stage import Options, run

    options = Options(merge, gguf, push_to_hub, gguf_type)
    for artifact in run(run_dir, method, to, options):
        typer.echo(f"{artifact.path}  {artifact.size / 1e6:,.1f} MB  {artifact.use}")


@app.command(name="run")
def run_all(
    config: Annotated[
        Path | None, typer.Argument(help="Experiment YAML (default: the quickstart).")
    ] = None,
    overrides: Overrides = None,
    output_anywhere: OutputAnywhere = False,
) -> None:
    """augment -> train -> evaluate -> report, skipping finished stages (each sweep combination)."""
    path = config or DEFAULT_CONFIG
    from revthink.sweep import is_sweep

    if is_sweep(path, overrides or []):
        _run_sweep(path, overrides or [], output_anywhere)
        return
    cfg = _config(path, overrides, augments=True, anywhere=output_anywhere)
    from revthink.pipeline import run

    with run_lock(cfg.run_dir, "run"):
        typer.echo(run(cfg))


def _run_sweep(path: Path, overrides: list[str], anywhere: bool) -> None:
    """Every combination of a config with a ``sweep:`` section, each checked before any runs."""
    from revthink.sweep import load_sweep, run
    from revthink.validation import check_references

    sweep = load_sweep(path, overrides)
    for combination in sweep.combinations:
        check_references(combination.config, path, augments=True)
        _check_output_dir(Path(combination.config.output_dir), anywhere)
    with run_lock(sweep.folder, "run"):
        typer.echo(run(sweep))


@app.command()
def validate(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Configs to check (default: all shipped).")
    ] = None,
) -> None:
    """Load every shipped config and dataset registry entry; exit 1 on the first problems."""
    from revthink.validation import validate_all

    problems = validate_all(paths or [])
    for problem in problems:
        console.print(Text.assemble(("✗ ", "red"), problem), soft_wrap=True)
    if problems:
        raise typer.Exit(EXIT_ERROR)
    console.print("[green]✓[/green] every config and registry entry is valid")


def _quiet_libraries() -> None:
    """Keep the terminal for revthink's own progress: library bars and deprecation chatter off."""
    import os
    import warnings

    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def main() -> None:
    """Entry point: errors meant for people are printed as one message, not a traceback."""
    _quiet_libraries()
    try:
        code = app(prog_name="revthink", standalone_mode=False)
    except RevthinkError as err:
        _error(str(err))
        raise SystemExit(EXIT_ERROR) from None
    except ClickError as err:
        _usage_error(err)
        raise SystemExit(getattr(err, "exit_code", EXIT_USAGE)) from None
    except (PermissionError, NotADirectoryError, IsADirectoryError, FileExistsError) as err:
        # the machine, not the program: a folder that cannot be written, a file in the way
        _error(f"{err.filename or 'a file'}: {err.strerror or err} (check that the path is a "
               "folder this user may write to)")
        raise SystemExit(EXIT_ERROR) from None
    except OSError as err:  # a full disk, a lost network mount: finished work is on disk
        where = f"{err.filename}: " if err.filename else ""
        _error(f"{where}{err.strerror or err}; fix it and run the same command again (finished "
               "work is kept)")
        raise SystemExit(EXIT_ERROR) from None
    except (typer.Abort, KeyboardInterrupt):
        code = EXIT_INTERRUPTED
    if code == EXIT_INTERRUPTED:  # typer turns Ctrl-C into Exit(130)
        console.print("interrupted; run the same command again to resume (finished work is kept)")
    if isinstance(code, int) and code != 0:  # typer.Exit(code), returned in non-standalone mode
        raise SystemExit(code)


def _error(message: str) -> None:
    """One message on stderr; soft wrap keeps it one line, Text keeps brackets literal."""
    console.print(Text.assemble(("error: ", "red"), message), soft_wrap=True)


def _usage_error(err: Exception) -> None:
    """The mistake and where help is, on one line; a bare ``revthink`` shows the help itself."""
    message = err.format_message()  # type: ignore[attr-defined]
    if type(err).__name__ == "NoArgsIsHelpError":  # typer has printed the help (or it is this)
        if message.strip():
            typer.echo(message, err=True)
        return
    ctx = getattr(err, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    _error(message + hint)
