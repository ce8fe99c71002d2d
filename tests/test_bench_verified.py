"""bench/verified.py on scripted models: one run per configuration, recorded as a JSON line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.verified import bench
from tests.test_repair_loop import BROKEN, FIXED, Generator, coordinator, scripted


async def test_one_run_per_configuration_is_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "verified.jsonl"
    with scripted(Generator(BROKEN, FIXED), coordinator(repairs_asked=2)):
        await bench("test", ["script"], ["repairs"], seeds=1, limit=1, out=out)

    [row] = [json.loads(line) for line in out.read_text().splitlines()]
    assert (row["request"], row["config"], row["seed"], row["verdict"]) == (
        "script",
        "repairs",
        1,
        "verified",
    )
    assert [v["kind"] for v in row["versions"]] == ["generate", "repair"] and row["kept"] == 1
    assert "script/repairs     verified 1/1" in capsys.readouterr().out
    kept = tmp_path / "verified" / "script-repairs-seed1"  # the run's output folder, beside the JSON
    assert (kept / "main.py").read_text() == "print(2 + 3)\n"
    assert json.loads((kept / "manifest.json").read_text())["verification"]["kept"] == 1


def test_sample_candidates_never_reuse_another_runs_seeds() -> None:
    from bench.verified import generator_seed

    single = {generator_seed("single", s) for s in range(1, 11)}
    candidates = [generator_seed("samples", s) + i for s in range(1, 11) for i in range(3)]
    assert len(set(candidates)) == 30 and not single & set(candidates)
    assert generator_seed("repairs", 4) == 4  # a repairs run's first version is single run 4's
