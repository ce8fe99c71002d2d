"""The `python -m agents.models` CLI: manage the models codecrew can use.

uv run python -m agents.models fetch-local --size 1.5b
uv run python -m agents.models list | show MODEL | discover --provider openrouter --free --probe
uv run python -m agents.models compare MODEL_A MODEL_B --task-type code_generation
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import typer

from tools.formatting import cli_help

app = typer.Typer(
    help="Manage the models codecrew can use: fetch the local model, list, show, discover, compare.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main() -> None:
    """Manage the models codecrew can use (keeps `fetch-local` a subcommand)."""


@app.command("fetch-local")
def fetch_local(
    size: str = typer.Option("1.5b", "--size", help="Which local model: 1.5b or 0.5b."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Download and verify the local model's GGUF weights; print the path, size and time."""
    import time

    from agents.local.weights import WEIGHTS, WeightsError, fetch_weights, get_spec

    if size not in WEIGHTS:
        try:
            get_spec(size)  # its message names the sizes there are
        except WeightsError as exc:
            _fail(str(exc), 2)
    started = time.monotonic()
    try:
        path = fetch_weights(size, progress=not quiet)
    except WeightsError as exc:  # the download or the check failed
        _fail(str(exc))
    elapsed = time.monotonic() - started
    size_mb = path.stat().st_size / 1e6
    typer.echo(f"{path}\t{size_mb:,.1f} MB\t{elapsed:.1f} s")


# -- catalog, discovery and comparison (catalog.py, discovery.py, probing.py, compare.py) ------


def _console() -> Any:
    """A rich console; wide when the output is not a terminal (pipes, tests)."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=200)


def _fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr and exit `code` (2: bad input or configuration, as everywhere)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _existing_history() -> Any:
    """The user's history if there is one (reading never creates it)."""
    from tools.history_queries import existing_history

    return existing_history()


@app.command("list")
def list_models(
    tier: str | None = typer.Option(None, "--tier", help="Only this tier (premium, workhorse, ...)."),
    task_type: str | None = typer.Option(None, "--task-type", help="Only models suited to this task type."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """The model catalog: models.yaml + genai-prices + what the history measured."""
    import json
    from dataclasses import asdict

    from agents.models.catalog import TASK_TYPES, TIERS, CatalogError, catalog_table, load_catalog

    if tier is not None and tier not in TIERS:
        _fail(f"unknown tier {tier!r}: use {', '.join(TIERS[:-1])} or {TIERS[-1]}", 2)
    if task_type is not None and task_type not in TASK_TYPES:
        _fail(f"unknown task type {task_type!r}: use {', '.join(TASK_TYPES)}", 2)
    try:
        cards = list(load_catalog(history=_existing_history()).values())
    except CatalogError as exc:
        _fail(str(exc))
    cards = [c for c in cards if (tier is None or c.tier == tier)]
    cards = [c for c in cards if (task_type is None or task_type in c.task_types)]
    if as_json:
        typer.echo(json.dumps([asdict(c) for c in cards], indent=2, default=str))
    else:
        _console().print(catalog_table(cards))


@app.command("show")
def show(
    model: str = typer.Argument(..., help="A model string, e.g. anthropic:claude-sonnet-4-5."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """One model's card (models missing from models.yaml get one too)."""
    import json
    from dataclasses import asdict

    from agents.models.catalog import GENAI_PROVIDERS, LOCAL_PROVIDERS, CatalogError, card_text, model_card

    try:
        card = model_card(model, _existing_history())
    except CatalogError as exc:
        _fail(str(exc))
    if not card.known and card.provider not in (*GENAI_PROVIDERS, *LOCAL_PROVIDERS):
        _fail(
            f"unknown model {model!r}: not in the catalog, genai-prices or the history;"
            " see `codecrew models list` or `codecrew models discover`",
            2,
        )
    typer.echo(json.dumps(asdict(card), indent=2, default=str) if as_json else card_text(card))


@app.command("discover")
def discover_models(
    provider: str = typer.Option("ollama", "--provider", help="ollama, openrouter, or a server URL."),
    free: bool = typer.Option(False, "--free", help="Only free models."),
    run_probe: bool = typer.Option(
        False, "--probe", help="Send each model a tiny chat and tool-call request; record the results."
    ),
    concurrency: int = typer.Option(4, "--concurrency", help="Probes at a time."),
    timeout: float = typer.Option(30.0, "--timeout", help="Seconds per probe request."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the models a provider really serves (and, with --probe, whether they work)."""
    import asyncio

    from agents.models.discovery import DiscoveryError, discover, discovery_table, to_json
    from agents.models.probing import probe

    try:
        models = asyncio.run(discover(provider, free_only=free))
    except DiscoveryError as exc:  # no such provider, not running, refused key: 2, as everywhere
        _fail(str(exc), 2 if exc.error_class.value in ("config", "connection_refused", "auth") else 1)
    probes = None
    if run_probe:
        from tools.history import History

        probes = asyncio.run(probe(models, concurrency=concurrency, timeout=timeout, history=History()))
    if as_json:
        typer.echo(to_json(models, probes))
        return
    _console().print(discovery_table(models, probes))
    for setting in sorted({f"{k}={v}" for m in models for k, v in m.env.items()}):
        typer.echo(f"set {setting} to use these models")


@app.command("compare")
def compare(
    model_a: str = typer.Argument(..., help="First model string."),
    model_b: str = typer.Argument(..., help="Second model string."),
    task_type: str | None = typer.Option(None, "--task-type", help="Only calls of this task type."),
    min_calls: int = typer.Option(5, "--min-calls", help="Fewer calls than this: not enough data."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Compare two models from the history: cost, speed, reliability, quality, and a pick."""
    import json
    from dataclasses import asdict

    from agents.models.compare import Thresholds, compare_models, comparison_table

    found = compare_models(
        _existing_history(), model_a, model_b, task_type=task_type, thresholds=Thresholds(min_calls=min_calls)
    )
    rec = found.recommendation
    if as_json:
        report = {
            "task_type": task_type,
            "models": [
                {**asdict(s), "pass_rates": rates, "pass_counts": {k: asdict(v) for k, v in counts.items()}}
                for s, rates, counts in zip(found.stats, found.pass_rates, found.pass_counts, strict=True)
            ],
            "thresholds": asdict(found.thresholds),
            "recommendation": asdict(rec),
        }
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    _console().print(comparison_table(*found.stats, *found.pass_counts))
    typer.echo(f"recommendation: {rec.choice}")
    for reason in rec.reasons:
        typer.echo(f"  {reason}")


@app.command("history")
def history(
    model: str | None = typer.Option(None, "--model", help="Only calls of this model."),
    role: str | None = typer.Option(None, "--role", help="Only this role (generator, coordinator, ...)."),
    source: str | None = typer.Option(None, "--source", help="Only this source: run, eval, probe, ab."),
    since: str | None = typer.Option(None, "--since", help="Only calls since: 7d, 12h, 30m or a date."),
    limit: int = typer.Option(50, "--limit", min=0, help="At most this many rows (0: all)."),
    run: str | None = typer.Option(None, "--run", help="Open this run: its report or manifest."),
    runs_only: bool = typer.Option(
        False, "--runs", help="Only the pipeline runs per generator model (verified rate), not the calls."
    ),
    reports_dir: Path = typer.Option(Path("reports"), "--reports-dir", help="Where eval reports are."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """The recorded model calls, newest first (like `llm logs`), then the pipeline runs per
    generator model: how often its code was verified (--model filters the generator there);
    --run RUN_ID opens one run."""
    from agents.config import Settings
    from tools.history_browser import calls_json, calls_table, run_overview, runs_json, runs_table
    from tools.history_queries import QueryError, calls, parse_since

    if source is not None and source not in HISTORY_SOURCES:
        _bad_input(f"unknown --source {source!r}: use one of {', '.join(HISTORY_SOURCES)}")
    try:
        since_at = parse_since(since)
    except QueryError as exc:
        _bad_input(str(exc))
    found = _existing_history()
    if run is not None:
        out_dir = Settings.load().out_dir or Path("output")
        text = run_overview(found, run, reports_dir=reports_dir, out_dir=out_dir)
        if text is None:
            _bad_input(f"no run {run!r} in the history, under {reports_dir}/ or under {out_dir}/")
        typer.echo(text)
        return
    sources = [source] if source is not None else None
    runs = found.generator_run_stats(generator_model=model, since=since_at, sources=sources) if found else []
    if runs_only:
        if as_json:
            typer.echo(runs_json(runs))
        elif not runs:
            typer.echo("no pipeline runs recorded" + (" that match" if found else " yet"))
        else:
            _console().print(runs_table(runs))
        return
    rows = calls(found, model=model, role=role, source=source, since=since_at, limit=limit) if found else []
    if as_json:
        typer.echo(calls_json(rows))
        return
    if not rows:
        typer.echo("no calls recorded" + (" that match" if found else " yet"))
    else:
        _console().print(calls_table(rows))
    if runs:
        _console().print(runs_table(runs))


HISTORY_SOURCES = ("run", "eval", "probe", "ab", "bench")


def _bad_input(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


for command in app.registered_commands:  # docstrings as help: prose unwrapped for the terminal
    command.help = cli_help(command.help or (command.callback.__doc__ if command.callback else None))

if __name__ == "__main__":
    app()
