"""Prompts live as text files in `agents/prompts/`; code loads them by name."""

from functools import cache
from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parent


@cache
def load_prompt(name: str) -> str:
    """The text of `agents/prompts/<name>.md`, without trailing white space."""
    return (PROMPTS_DIR / f"{name}.md").read_text(encoding="utf-8").strip()
