"""`python -m agents.models ...`: the model operations CLI (agents/models/cli.py)."""

from agents.models.cli import app

if __name__ == "__main__":
    app()
