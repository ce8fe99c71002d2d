"""`--help` stays fast: the command modules import no heavy library until a command runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pydantic_ai", "pydantic_evals", "playwright", "logfire", "genai_prices", "dbos", "pydantic")


@pytest.mark.parametrize("module", ["agents.run", "evals.run", "agents.models.cli", "agents.cli"])
def test_command_modules_import_nothing_heavy(module: str) -> None:
    code = f"import sys, json, {module}; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_the_check_sees_a_heavy_import() -> None:
    code = f"import sys, json, agents.manifest; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "pydantic_ai" in json.loads(out.stdout)
