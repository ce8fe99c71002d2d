"""Settings, model strings and the choice of the embedded default."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic_ai.models.fallback import FallbackModel
from pydantic_ai.models.ollama import OllamaModel
from pydantic_ai.models.test import TestModel

from agents.config import (
    EMBEDDED_DEFAULT,
    VARIABLES,
    ConfigError,
    Settings,
    cache_dir,
    configured_models,
    find_env_file,
    history_path,
    load_env,
    ollama_urls,
)
from agents.models.build import build_model, normalise_model_string
from agents.preflight import choose_models, ollama_names

ROOT = Path(__file__).resolve().parent.parent
CLOSED = "http://127.0.0.1:9"  # nothing listens on the discard port


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ("http://localhost:11434/v1", "http://localhost:11434")),
        ("http://gpu-box:11434", ("http://gpu-box:11434/v1", "http://gpu-box:11434")),
        ("http://gpu-box:11434/v1", ("http://gpu-box:11434/v1", "http://gpu-box:11434")),
        ("http://gpu-box:11434/v1/", ("http://gpu-box:11434/v1", "http://gpu-box:11434")),
        ("gpu-box:11434", ("http://gpu-box:11434/v1", "http://gpu-box:11434")),
    ],
)
def test_ollama_url_with_or_without_v1(raw: str | None, expected: tuple[str, str]) -> None:
    assert ollama_urls(raw) == expected


def test_env_and_flags() -> None:
    env = {"CODE_GENERATOR_MODEL": "openrouter:x/y", "CODE_GENERATOR_MAX_TOKENS": "999"}
    settings = Settings.load(env, coordinator="test")
    assert settings.generator == "openrouter:x/y"
    assert settings.coordinator == "test"  # the flag wins
    assert settings.extractor == "ollama:llama3.1:8b-instruct-q8_0"  # the default
    assert settings.explicit_roles == {"generator", "coordinator"}
    assert settings.role_settings["generator"]["max_tokens"] == 999
    assert settings.role_settings["coordinator"]["temperature"] == 0.0


def test_configured_models_adds_eval_models_once() -> None:
    env = {
        "COORDINATOR_MODEL": "test",
        "CODE_GENERATOR_MODEL": "test",
        "CODE_EXTRACTOR_MODEL": "local:qwen2.5-coder-0.5b",
        "EVAL_MODELS": "local:qwen2.5-coder-0.5b, openrouter:a/b ,",
    }
    assert configured_models(env=env) == ["test", "local:qwen2.5-coder-0.5b", "openrouter:a/b"]


def test_old_google_prefix_is_mapped() -> None:
    assert normalise_model_string("google-gla:gemini-2.0-flash") == "google:gemini-2.0-flash"


def test_model_strings_build_models() -> None:
    settings = Settings.load({"OLLAMA_BASE_URL": "http://box:11434"})
    assert isinstance(build_model("test", settings), TestModel)
    ollama = build_model("ollama:qwen2.5-coder:14b", settings)
    assert isinstance(ollama, OllamaModel) and ollama.base_url == "http://box:11434/v1/"
    chain = build_model("test, ollama:qwen2.5-coder:14b", settings)
    assert isinstance(chain, FallbackModel) and len(chain.models) == 2


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="set OPENROUTER_API_KEY in the environment or in .env"):
        build_model("openrouter:deepseek/deepseek-chat", Settings.load({}))


def test_embedded_default_when_nothing_is_configured_and_ollama_is_down() -> None:
    settings, note = choose_models(Settings.load({"OLLAMA_BASE_URL": CLOSED}))
    assert {settings.coordinator, settings.generator, settings.extractor} == {EMBEDDED_DEFAULT}
    assert note == (
        f"Ollama is not reachable at {CLOSED} and no model is configured: "
        f"running every role on the embedded {EMBEDDED_DEFAULT}"
    )


def test_no_embedded_default_when_a_model_is_configured() -> None:
    env = {"OLLAMA_BASE_URL": CLOSED, "CODE_GENERATOR_MODEL": "ollama:qwen2.5-coder:7b"}
    settings, note = choose_models(Settings.load(env))
    assert note is None and settings.generator == "ollama:qwen2.5-coder:7b"
    assert ollama_names(settings) == ["llama3.1:8b-instruct-q8_0", "qwen2.5-coder:7b"]


def test_cache_and_history_paths(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """One cache folder (platformdirs: XDG on Linux), CODECREW_CACHE_DIR and CODECREW_HISTORY win."""
    for var in ("CODECREW_HISTORY", "CODECREW_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "codecrew"
    assert history_path() == tmp_path / "home" / ".cache" / "codecrew" / "history.sqlite"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert history_path() == tmp_path / "xdg" / "codecrew" / "history.sqlite"
    monkeypatch.setenv("CODECREW_CACHE_DIR", str(tmp_path / "cache"))
    assert cache_dir() == tmp_path / "cache"
    assert history_path() == tmp_path / "cache" / "history.sqlite"
    monkeypatch.setenv("CODECREW_HISTORY", str(tmp_path / "x.db"))
    assert history_path() == tmp_path / "x.db"


def test_env_file_is_found_upwards_but_not_past_the_project_root(tmp_path: Path) -> None:
    project = tmp_path / "project"
    deep = project / "src" / "pkg"
    deep.mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    assert find_env_file(deep) is None
    (project / ".env").write_text("X=1\n")
    assert find_env_file(deep) == project / ".env"
    (deep / ".env").write_text("X=2\n")
    assert find_env_file(deep) == deep / ".env"
    (project / ".env").unlink()
    (deep / ".env").unlink()
    (tmp_path / ".env").write_text("X=3\n")  # above the project root: not ours
    assert find_env_file(deep) is None


def test_env_file_fills_in_what_the_environment_lacks(tmp_path: Path) -> None:
    """Run in a fresh interpreter from a sub-folder of a project with a .env at its root."""
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / ".git").mkdir()
    (project / ".env").write_text("CODECREW_REQUEST_LIMIT=7\nEVAL_MODELS=test\n")
    code = "from agents.config import Settings, env_value; print(Settings.load().request_limit, env_value('EVAL_MODELS'))"
    env = {k: v for k, v in os.environ.items() if k not in ("CODECREW_REQUEST_LIMIT", "EVAL_MODELS")}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=project / "sub", env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["7", "test"]
    env["CODECREW_REQUEST_LIMIT"] = "9"  # the real environment wins
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=project / "sub", env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["9", "test"]


def test_env_example_lists_every_variable_the_code_reads() -> None:
    """Every name in VARIABLES is in .env.example, and every variable config.py reads is in VARIABLES."""
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"\b([A-Z][A-Z0-9_]+)=", example))
    assert sorted(set(VARIABLES) - documented) == []
    source = (ROOT / "agents" / "config.py").read_text()
    read = set(re.findall(r"\"((?:CODECREW|OLLAMA|OPENROUTER|EVAL)_[A-Z0-9_]+|ROUTING)\"", source))
    read |= set(
        re.findall(
            r"api_key\(\s*\"([A-Z][A-Z0-9_]+)\"", (ROOT / "agents" / "models" / "probing.py").read_text()
        )
    )
    assert read and sorted(read - set(VARIABLES)) == []
    assert load_env()  # the environment, .env merged in
