"""setup.sh's options, with a stand-in `uv` that records its arguments and stops the script."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    record = tmp_path / "uv-args"
    (fake / "uv").write_text(f'#!/bin/sh\necho "$@" > {record}\nexit 1\n')
    (fake / "uv").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", str(ROOT / "setup.sh"), *args], env=env, capture_output=True, text=True)
    return result.returncode, record.read_text().strip() if record.exists() else "", result.stderr


def test_all_installs_every_extra(tmp_path: Path) -> None:
    assert setup(tmp_path, "--all")[1] == "sync --frozen --quiet --all-extras"
    assert setup(tmp_path)[1] == "sync --frozen --quiet"


def test_unknown_option_is_one_line_and_exit_2(tmp_path: Path) -> None:
    code, uv_args, stderr = setup(tmp_path, "--everything")
    assert (code, uv_args) == (2, "")
    assert stderr == "setup: unknown option --everything (use --all for every optional extra)\n"
