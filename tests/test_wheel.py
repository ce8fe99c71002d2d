"""The wheel installs and runs outside the checkout: prompts, the chat template, models.yaml,
datasets and fixtures are package data, and `codecrew` is a console script.

Builds the wheel with `uv build`, installs it (without dependencies) into a fresh venv in a
temp folder whose dependencies come from this test's own environment, then runs the
installed `codecrew` from a folder outside the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UV = shutil.which("uv")

pytestmark = pytest.mark.skipif(UV is None, reason="uv is needed to build and install the wheel")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh venv with the wheel installed."""
    assert UV is not None
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run([UV, "build", "--wheel", "-q", "-o", str(tmp / "dist"), str(ROOT)], check=True)
    wheels = list((tmp / "dist").glob("codecrew-*.whl"))
    assert len(wheels) == 1
    venv = tmp / "venv"
    subprocess.run([UV, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # the dependencies: this environment's packages, after the venv's own (a path in a .pth
    # file is appended to sys.path; .pth files inside it, like an editable install's, are not run)
    Path(purelib, "codecrew_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [UV, "pip", "install", "-q", "--python", str(python), "--no-deps", str(wheels[0])], check=True
    )
    return venv / "bin"


def run(bin_dir: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["CODECREW_HISTORY"] = str(cwd / "history.sqlite")
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "200"
    return subprocess.run(
        [str(bin_dir / "codecrew"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_installed_package_is_the_wheel(installed: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        [installed / "python", "-c", "import agents, evals, tools; print(agents.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(out.stdout.strip()).is_relative_to(installed.parent)


def test_models_list_reads_the_packaged_catalog(installed: Path, tmp_path: Path) -> None:
    result = run(installed, ["models", "list"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "local:qwen2.5-coder-1.5b" in result.stdout  # from the packaged models.yaml


def test_run_on_the_test_models_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run(
        installed,
        ["run", "build tetris", "--generator", "test", "--coordinator", "test", "--extractor", "test"]
        + ["--out", str(out)],
        tmp_path,
    )
    # pydantic-ai's `test` model answers without code: the run fails as a run (1), not as setup (2)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "error: no code in the answer of test after 3 tries"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "error"
    assert manifest["agents"]["generator"]["requests"] == 3  # the packaged prompts were loaded


def test_eval_help_is_there(installed: Path, tmp_path: Path) -> None:
    result = run(installed, ["eval", "--help"], tmp_path)
    assert result.returncode == 0 and "--min-pass-rate" in result.stdout
