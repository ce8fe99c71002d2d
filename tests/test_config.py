"""Settings, model strings and the choice of the embedded default."""

from __future__ import annotations

import pytest
from pydantic_ai.models.fallback import FallbackModel
from pydantic_ai.models.ollama import OllamaModel
from pydantic_ai.models.test import TestModel

from agents.config import (
    EMBEDDED_DEFAULT,
    ConfigError,
    Settings,
    configured_models,
    ollama_urls,
)
from agents.models.build import build_model, normalise_model_string
from agents.preflight import choose_models, ollama_names

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
