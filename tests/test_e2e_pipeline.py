"""End to end on the real embedded model: `python -m agents.run "build tetris"`, offline.

Slow (a few minutes on 2 cores): marked e2e. Runs the CLI as a user would, with no model
configured and no Ollama, so the embedded default is chosen, fetched if needed and started.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent


def local_server_pids() -> list[int]:
    """Processes running our embedded llama.cpp server."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"agents.local.child" in cmdline:
            pids.append(int(proc.name))
    return pids


def test_build_tetris_on_the_embedded_model(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_MODEL")}
    env["OLLAMA_BASE_URL"] = "http://127.0.0.1:9"  # no Ollama: the embedded default is used
    before = set(local_server_pids())
    out = tmp_path / "tetris"
    proc = subprocess.run(
        # --repairs 0 keeps CI's time bounded; tests/test_e2e_repair.py runs the repair loop
        [sys.executable, "-m", "agents.run", "build tetris", "--out", str(out), "--repairs", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    print(proc.stderr[-3000:])
    assert "running every role on the embedded local:qwen2.5-coder-1.5b" in proc.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    # 0: the page plays; 4: it was written but does not (the verdict says why, files kept)
    assert proc.returncode in (0, 4), manifest.get("error")
    assert manifest["status"] in ("ok", "not_working")
    assert manifest["verification"]["verdict"] is not None

    html_files = [f["name"] for f in manifest["files"] if f["name"].endswith(".html")]
    assert html_files, manifest["files"]
    site = "".join((out / f["name"]).read_text() for f in manifest["files"])
    assert re.search(r"<canvas|id=[\"'](board|grid|game)", site, re.I), "no canvas or board element"
    assert re.search(r"<script|\.js\b", site), "no JavaScript"

    agents = manifest["agents"]
    # The coordinator delegated through real tool calls, parsed by llama.cpp from the 1.5B model.
    assert agents["coordinator"]["tool_calls"][:2] == ["generate_code", "extract_files"]
    assert "write_files" in agents["coordinator"]["tool_calls"]
    assert agents["coordinator"]["requests"] >= 2  # the 1.5B may ask for two tools in one turn
    assert agents["generator"]["requests"] >= 1 and agents["generator"]["output_tokens"] > 200
    # The extractor is asked only when the layout is ambiguous; the manifest says which.
    assert agents["extractor"]["requests"] >= 1 or agents["extractor"]["note"].startswith("not needed")
    assert manifest["totals"]["requests"] == sum(a["requests"] for a in agents.values())

    # The server is gone with the run.
    assert set(local_server_pids()) - before == set()
