"""The `codecrew` command: `codecrew run`, `codecrew eval` and `codecrew models` and
`codecrew serve` are the same commands as `python -m agents.run`, `python -m evals.run`,
`python -m agents.models` and `python -m evals.serve`.

    codecrew run "build tetris" [--out DIR] [--generator MODEL] ...
    codecrew eval --suite humaneval --limit 10 --models local:qwen2.5-coder-1.5b
    codecrew models list | show MODEL | discover --provider ollama | compare A B
    codecrew serve [--port 8321]
"""

from __future__ import annotations

import typer

from agents.models.cli import app as models_app
from agents.run import RUN_HELP
from agents.run import main as run_main
from evals import run as eval_command
from evals.serve import cli as serve_command
from tools.formatting import cli_help

app = typer.Typer(
    name="codecrew",
    help="Build software with a crew of models, measure the models, manage them.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("run", help=RUN_HELP)(run_main)
app.command("eval", help=cli_help(eval_command.__doc__))(eval_command.main)
app.add_typer(models_app, name="models")
app.command("serve", help=cli_help(serve_command.__doc__))(serve_command.main)


def main() -> None:
    """The console script's entry point."""
    app()


if __name__ == "__main__":
    main()
