"""tools.esbuild runs esbuild in the sandbox: generated code cannot pull host files into a bundle
(issue 11, item 1). Real esbuild and node, no model."""

from pathlib import Path

import pytest

from evals import bench
from tools import esbuild

pytestmark = pytest.mark.skipif(
    esbuild.esbuild_problem() is not None, reason=f"esbuild unavailable: {esbuild.esbuild_problem()}"
)

SECRET = "codecrew-secret-7f3a9c"


@pytest.fixture
def secrets_outside(tmp_path: Path) -> dict[str, Path]:
    """Secret files outside the generated ones, readable by anyone on the host."""
    tmp_path.chmod(0o755)
    paths = {}
    for suffix, text in (
        (".json", f'{{"key": "{SECRET}"}}'),
        (".txt", SECRET),
        (".js", f"module.exports = '{SECRET}';"),
    ):
        path = tmp_path / f"secret{suffix}"
        path.write_text(text)
        path.chmod(0o644)
        paths[suffix] = path
    return paths


@pytest.mark.parametrize("suffix", [".json", ".txt", ".js"])
def test_bundle_cannot_require_a_host_file(secrets_outside, suffix):
    module = f"module.exports = require({str(secrets_outside[suffix])!r});\n"
    result = esbuild.bundle({"main.js": module}, "main.js", packages=False)
    assert not result.ok
    assert not result.infrastructure
    assert SECRET not in result.code and SECRET not in result.error


def test_bundle_refuses_a_world_readable_file_outside_the_run_dir():
    """/etc is visible read-only in the sandbox: the metafile guard refuses the bundle anyway."""
    hostname = Path("/etc/hostname")
    if not hostname.is_file():
        pytest.skip("no /etc/hostname")
    result = esbuild.bundle(
        {"main.js": "module.exports = require('/etc/hostname');"}, "main.js", packages=False
    )
    assert not result.ok
    assert hostname.read_text().strip() not in result.code


def test_bench_check_does_not_leak_a_host_file(secrets_outside):
    """Through the bench's own check: the detail text never holds the secret."""
    if bench.node_problem():
        pytest.skip(bench.node_problem())
    module = f"const s = require({str(secrets_outside['.json'])!r}); module.exports = {{ s }};\n"
    tests = "const m = require('./main.js'); test('leak', () => { throw new Error(JSON.stringify(m)); });\n"
    result = bench.run_node_tests({"main.js": module}, "main.js", tests)
    assert not result.passed
    assert SECRET not in result.detail
    assert "cannot bundle it" in result.detail


def test_bundle_and_transpile_work_on_generated_files():
    built = esbuild.transpile("const x: number = 2;\nexport const y = x * 3;\n", "m.ts")
    assert built.ok, built.error
    assert "x * 3" in built.code and ": number" not in built.code
    bundled = esbuild.bundle(
        {"main.js": "const { y } = require('./lib'); console.log(y);", "lib.js": "exports.y = 6;"},
        "main.js",
        packages=False,
    )
    assert bundled.ok, bundled.error
    assert "y = 6" in bundled.code


def test_parse_error_is_the_codes_fault_not_infrastructure():
    built = esbuild.transpile("const = ;", "broken.ts")
    assert not built.ok and not built.infrastructure
    assert "Unexpected" in built.error or "Expected" in built.error


def test_missing_esbuild_is_infrastructure(monkeypatch, tmp_path):
    monkeypatch.setenv("CODECREW_NODE_DIR", str(tmp_path / "nowhere"))
    built = esbuild.transpile("let a = 1;", "a.js")
    assert not built.ok and built.infrastructure
    assert "esbuild missing" in built.error
