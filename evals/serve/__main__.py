"""`python -m evals.serve`: the dashboard (see evals.serve.cli)."""

from evals.serve.cli import app

app()
