"""The `python -m agents.models` CLI: manage the models codecrew can use.

uv run python -m agents.models fetch-local --size 1.5b
"""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Manage the models codecrew can use: fetch the local model's weights.",
    no_args_is_help=True,
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

    from agents.weights import WeightsError, fetch_weights

    started = time.monotonic()
    try:
        path = fetch_weights(size, progress=not quiet)
    except WeightsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    elapsed = time.monotonic() - started
    size_mb = path.stat().st_size / 1e6
    typer.echo(f"{path}\t{size_mb:,.1f} MB\t{elapsed:.1f} s")


if __name__ == "__main__":
    app()
