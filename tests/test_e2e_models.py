"""Model discovery on the real embedded server: `discover --probe` sees the 1.5B call a tool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agents.local.server import LocalServer
from agents.local.weights import fetch_weights

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent


def test_discover_probe_reports_tool_support(tmp_path: Path) -> None:
    history = tmp_path / "history.sqlite"
    with LocalServer(fetch_weights("1.5b", progress=False), alias="qwen2.5-coder-1.5b") as server:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "agents.models",
                "discover",
                "--provider",
                server.base_url,
                "--probe",
                "--timeout",
                "240",
                "--json",
            ],
            cwd=ROOT,
            env=dict(os.environ, CODECREW_HISTORY=str(history)),
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert proc.returncode == 0, proc.stderr
    [model] = json.loads(proc.stdout)
    assert model["base_url"].startswith("http://127.0.0.1:")
    probe = model["probe"]
    assert probe["reachable"] is True, probe
    assert probe["supports_tools"] is True, probe["detail"]
    assert probe["latency"] > 0 and probe["error_class"] is None
    assert history.exists()  # results went into the history, not into the code
