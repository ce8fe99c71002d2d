"""The agents.run CLI: every bad input ends in one clear line and a non-zero exit."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agents.run import EXIT_CONFIG, EXIT_FAILED, app

ROLE_VARS = ("COORDINATOR_MODEL", "CODE_GENERATOR_MODEL", "CODE_EXTRACTOR_MODEL")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No .env, no keys, no model variables from the developer's machine."""
    monkeypatch.chdir(tmp_path)
    for var in (*ROLE_VARS, "OPENAI_API_KEY", "OPENROUTER_API_KEY", "OLLAMA_BASE_URL", "OLLAMA_HOST"):
        monkeypatch.delenv(var, raising=False)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def all_roles(monkeypatch: pytest.MonkeyPatch, spec: str) -> None:
    for var in ROLE_VARS:
        monkeypatch.setenv(var, spec)


def test_model_string_test_runs_the_flow_and_ends_with_no_code(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    all_roles(monkeypatch, "test")
    code, output = run("build tetris", "--out", str(tmp_path / "out"))

    assert code == EXIT_FAILED
    assert error_lines(output) == ["error: no code in the answer of test after 3 tries"]
    assert "Traceback" not in output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "error" and manifest["agents"]["generator"]["requests"] == 3


def test_json_prints_the_manifest(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    all_roles(monkeypatch, "test")
    code, output = run("build tetris", "--out", str(tmp_path / "out"), "--json")
    start = output.index("{")
    manifest = json.loads(output[start : output.rindex("}") + 1])
    assert code == EXIT_FAILED and manifest["error_class"] == "no_code"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["  "], 'error: the prompt is empty: say what to build, e.g. python -m agents.run "build tetris"'),
        (
            ["build tetris", "--generator", "nonsense"],
            "error: unknown model string 'nonsense': use provider:model, e.g. ollama:qwen2.5-coder:14b, "
            "openai:gpt-4o, openrouter:deepseek/deepseek-chat, local:qwen2.5-coder-1.5b",
        ),
        (
            ["build tetris", "--generator", "openai:gpt-4o"],
            "error: missing API key for 'openai:gpt-4o': set OPENAI_API_KEY in the environment or in .env",
        ),
        (
            ["build tetris", "--generator", "local:unknown-size"],
            "error: unknown local model 'local:unknown-size': use local:qwen2.5-coder-1.5b or "
            "local:qwen2.5-coder-0.5b",
        ),
    ],
)
def test_bad_input_is_one_line(monkeypatch: pytest.MonkeyPatch, args: list[str], expected: str) -> None:
    all_roles(monkeypatch, "test")
    code, output = run(*args)
    assert code == EXIT_CONFIG
    assert error_lines(output) == [expected]


def test_ollama_not_running_says_how_to_start_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens on port 9
    monkeypatch.setenv("CODE_GENERATOR_MODEL", "ollama:qwen2.5-coder:14b")
    code, output = run("build tetris")
    assert code == EXIT_CONFIG
    [line] = error_lines(output)
    assert line.startswith(
        "error: Ollama is not reachable at http://127.0.0.1:9: start it with `ollama serve`"
    )
    assert "ollama pull qwen2.5-coder:14b" in line and "ollama pull llama3.1:8b-instruct-q8_0" in line


@pytest.fixture
def fake_ollama() -> Iterator[str]:
    """An Ollama look-alike on loopback that has pulled one model."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's naming
            body = json.dumps({"models": [{"model": "llama3.1:8b-instruct-q8_0", "name": "llama3.1"}]})
            self.send_response(200 if self.path == "/api/tags" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_model_not_pulled_says_which_pull(monkeypatch: pytest.MonkeyPatch, fake_ollama: str) -> None:
    monkeypatch.setenv("OLLAMA_BASE_URL", fake_ollama)  # without /v1: accepted too
    code, output = run("build tetris")
    assert code == EXIT_CONFIG
    assert error_lines(output) == [
        "error: Ollama has not pulled qwen2.5-coder:14b: run `ollama pull qwen2.5-coder:14b`"
    ]


def test_usage_limit_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    all_roles(monkeypatch, "test")
    monkeypatch.setenv("CODECREW_REQUEST_LIMIT", "2")
    code, output = run("build tetris", "--out", str(tmp_path / "out"))
    assert code == EXIT_FAILED
    [line] = error_lines(output)
    assert "request_limit of 2" in line


def test_existing_output_is_not_overwritten(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    all_roles(monkeypatch, "test")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "index.html").write_text("mine")
    code, output = run("build tetris", "--out", str(tmp_path / "out"))
    assert code == EXIT_CONFIG
    assert error_lines(output) == [
        f"error: {tmp_path / 'out'} is not empty: pass --force to overwrite, or choose another --out"
    ]
    assert (tmp_path / "out" / "index.html").read_text() == "mine"


def test_api_keys_never_reach_output_or_manifest(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = "sk-or-v1-" + "9" * 40
    monkeypatch.setenv("OPENROUTER_API_KEY", secret)
    monkeypatch.setenv("COORDINATOR_MODEL", "test")
    monkeypatch.setenv("CODE_EXTRACTOR_MODEL", "test")
    monkeypatch.setenv(
        "CODE_GENERATOR_MODEL", "test,openrouter:qwen/qwen3-coder:free"
    )  # a chain with a keyed model
    code, output = run("build tetris", "--out", str(tmp_path / "out"), "--json")
    assert code == EXIT_FAILED
    assert secret not in output
    assert secret not in (tmp_path / "out" / "manifest.json").read_text()


def test_ab_picks_one_of_two_and_records_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tools.history import History

    all_roles(monkeypatch, "test")
    code, output = run("build tetris", "--out", str(tmp_path / "out"), "--ab", "test,test")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["route"] == "A/B test: picked test at random from test and test"
    assert manifest["task_type"] == "code_generation"
    calls = History().model_stats(role="generator")
    assert [(s.model, s.calls) for s in calls] == [("test", 1)]


def test_routing_picks_an_available_model_and_says_why() -> None:
    from agents.config import Settings
    from agents.models.routing import pick_generator

    settings = Settings.load({}).with_models("test")
    routing = pick_generator("fix the typo in the README", settings, use_routing=True)
    assert routing.task_type == "documentation"
    assert routing.settings.generator in {"test", "local:qwen2.5-coder-1.5b", "local:qwen2.5-coder-0.5b"}
    assert routing.reason and routing.settings.generator in routing.reason
    assert routing.settings.coordinator == "test"  # only the generator is routed


def test_bad_ab_value_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    all_roles(monkeypatch, "test")
    code, output = run("build tetris", "--ab", "just-one")
    assert code == EXIT_CONFIG
    assert error_lines(output) == ["error: --ab takes two models separated by a comma, not 'just-one'"]


def test_routing_never_overrides_a_generator_the_user_named() -> None:
    from agents.config import Settings
    from agents.models.routing import pick_generator

    settings = Settings.load({}, coordinator="test", generator="openai-chat:good-coder", extractor="test")
    routing = pick_generator("build tetris", settings, use_routing=True)
    assert routing.settings.generator == "openai-chat:good-coder"
    assert routing.reason == "routing: kept the generator you named, openai-chat:good-coder"


def test_a_routed_pick_that_needs_a_download_says_so_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from agents.config import Settings
    from agents.models.routing import pick_generator

    monkeypatch.setenv("CODECREW_CACHE_DIR", str(tmp_path / "empty-cache"))  # no weights on disk
    settings = Settings.load({}, coordinator="test", extractor="test")  # generator not named
    routing = pick_generator("fix the typo in the README", settings, use_routing=True)
    picked = routing.settings.generator
    assert picked in {
        "test",
        "local:qwen2.5-coder-1.5b",
        "local:qwen2.5-coder-0.5b",
        "ollama:qwen2.5-coder:14b",
    }
    if picked.startswith("local:"):
        assert routing.reason is not None and "download" in routing.reason and " MB" in routing.reason


def test_error_text_keeps_its_square_brackets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich markup is not applied to messages: `codecrew[google]` stays as written."""
    import agents.models.build as build
    from agents.config import ConfigError

    real = build.build_single

    def missing_extra(spec: str, settings: Any, **kwargs: Any) -> Any:
        if not spec.startswith("google:"):
            return real(spec, settings, **kwargs)
        raise ConfigError(
            f"model '{spec}' needs an optional package (google): "
            "run `uv sync --extra google` (or pip install 'codecrew[google]')"
        )

    monkeypatch.setattr(build, "build_single", missing_extra)
    all_roles(monkeypatch, "test")
    code, output = run("build tetris", "--generator", "google:gemini-2.0-flash")
    assert code == EXIT_CONFIG
    assert error_lines(output) == [
        "error: model 'google:gemini-2.0-flash' needs an optional package (google): "
        "run `uv sync --extra google` (or pip install 'codecrew[google]')"
    ]


def test_summary_shows_the_model_that_answered_and_no_verdict_after_a_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    from rich.console import Console

    import agents.run as run_cli
    from agents.manifest import AgentUsage, Manifest

    manifest = Manifest(request="build tetris", status="error", error="no code in the answer", out_dir="out")
    manifest.agents = {
        "coordinator": AgentUsage(model="test", requests=1, answered_by=["test"]),
        "generator": AgentUsage(
            model="openrouter:a/one,ollama:qwen2.5-coder:14b", requests=2, answered_by=["qwen2.5-coder:14b"]
        ),
        "extractor": AgentUsage(model="openrouter:x/y,openrouter:z/w"),  # never asked
    }
    out = io.StringIO()
    monkeypatch.setattr(run_cli, "console", Console(file=out, width=200, color_system=None))
    run_cli.print_summary(manifest)
    text = out.getvalue()
    generator_row = next(line for line in text.splitlines() if "generator" in line)
    assert "ollama:qwen2.5-coder:14b" in generator_row and "openrouter:a/one" not in generator_row
    extractor_row = next(line for line in text.splitlines() if "extractor" in line)
    assert "not asked" in extractor_row
    assert "code: complete" not in text
    assert "code: not judged: the run failed" in text


def test_help_lists_every_exit_code_on_its_own_line() -> None:
    import agents.run as run_cli

    code, output = run("--help")
    assert code == 0
    codes = {
        run_cli.EXIT_FAILED: "the run failed",
        run_cli.EXIT_CONFIG: "bad input",
        run_cli.EXIT_LAZY: "incomplete",
        run_cli.EXIT_NOT_WORKING: "do not work",
        run_cli.EXIT_UNVERIFIABLE: "could not verify",
        run_cli.EXIT_INTERRUPTED: "interrupted",
    }
    lines = [line.strip(" │") for line in output.splitlines()]
    for number, words in codes.items():
        assert any(line.startswith(f"{number} ") and words in line for line in lines), (number, output)


@pytest.mark.parametrize(
    ("generator", "hinted"), [("local:qwen2.5-coder-1.5b", True), ("openai:gpt-4o", False)]
)
def test_files_that_fail_on_the_embedded_model_get_a_hint_to_try_a_bigger_one(
    monkeypatch: pytest.MonkeyPatch, generator: str, hinted: bool
) -> None:
    import io

    from rich.console import Console

    import agents.run as run_cli
    from agents.manifest import AgentUsage, Manifest, VerdictRecord

    manifest = Manifest(request="build tetris", status="not_working", out_dir="out")
    manifest.agents = {"generator": AgentUsage(model=generator, requests=3)}
    manifest.verification.verdict = VerdictRecord(
        status="failed", judge="web-game", score=0.5, summary="not working: loads failed: x", reason="failed"
    )
    out = io.StringIO()
    monkeypatch.setattr(run_cli, "console", Console(file=out, width=300, color_system=None))
    run_cli.print_summary(manifest)
    lines = out.getvalue().strip().splitlines()
    assert lines[-1] == "not working: loads failed: x (files kept in out)"  # the verdict stays last
    hint = "a bigger generator may (--generator ollama:qwen2.5-coder:14b, or any model string)"
    assert (hint in lines[-2]) is hinted
