"""Discovery and probes against fake providers on loopback (no internet, no real model)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pydantic_ai.models
import pytest

from agents.models import discovery
from agents.models.discovery import DiscoveredModel, DiscoveryError, discover, ollama_host
from agents.models.probing import probe
from tools.history import History

# A route answers (status, headers, body); body may be bytes (sent raw) or JSON-able.
Route = Callable[[dict[str, Any]], tuple[int, dict[str, str], Any]]


class FakeServer:
    """A threaded HTTP server on 127.0.0.1 answering from a {(method, path): route} table."""

    def __init__(self, routes: dict[tuple[str, str], Route]) -> None:
        self.routes = routes
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.headers: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else {}
                server.requests.append((method, self.path, body))
                server.headers.append({k.lower(): v for k, v in self.headers.items()})
                route = server.routes.get((method, self.path))
                status, headers, payload = (
                    route(body) if route else (404, {}, {"error": f"no route {self.path}"})
                )
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)  # the client may have given up (timeout tests)

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def ok(payload: Any, headers: dict[str, str] | None = None) -> Route:
    return lambda body: (200, headers or {}, payload)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def no_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OLLAMA_HOST", "OLLAMA_BASE_URL", "OPENROUTER_BASE_URL", "OPENROUTER_API_KEY"):
        monkeypatch.delenv(var, raising=False)


# -- fake providers ----------------------------------------------------------------------

OLLAMA_TAGS = {
    "models": [
        {"name": "qwen2.5-coder:14b", "model": "qwen2.5-coder:14b", "size": 9_000_000_000},
        {"name": "llama3.1:8b-instruct-q8_0", "model": "llama3.1:8b-instruct-q8_0"},
    ]
}


def ollama_show(body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    if body.get("model") == "qwen2.5-coder:14b":
        info = {"general.architecture": "qwen2", "qwen2.context_length": 32768}
        return 200, {}, {"model_info": info, "capabilities": ["completion", "tools"]}
    return 500, {}, {"error": "show failed"}


OPENROUTER_MODELS = {
    "data": [
        {
            "id": "meta-llama/llama-3.3-8b-instruct:free",
            "context_length": 128000,
            "pricing": {"prompt": "0", "completion": "0"},
            "supported_parameters": ["tools", "temperature"],
        },
        {
            "id": "deepseek/deepseek-chat",
            "context_length": 163840,
            "pricing": {"prompt": "0.0000003", "completion": "0.0000012"},
            "supported_parameters": ["temperature"],
        },
        {
            "id": "openrouter/auto",
            "context_length": 2000000,
            "pricing": {"prompt": "-1", "completion": "-1"},
        },
    ]
}


def chat_completion(model: str, message: dict[str, Any], finish: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
    }


def openai_chat(body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    """Behaviour by model name: a small zoo of the failures seeds 000 and 002 describe."""
    model = body["model"]
    wants_tools = bool(body.get("tools"))
    answered_tool = any(m.get("role") == "tool" for m in body["messages"])
    if model == "limited":
        return 429, {"retry-after": "7"}, {"error": {"message": "Rate limited upstream"}}
    if model == "missing":
        return 404, {}, {"error": {"message": "model not found"}}
    if model == "slow":
        time.sleep(2)
    if model == "broken":
        return 200, {}, b'{"id": "x", "choices": [ {"message": '
    if model == "notools" and wants_tools:
        return 404, {}, {"error": {"message": "No endpoints found that support tool use"}}
    if model == "tooly" and wants_tools and not answered_tool:
        call = {
            "id": "call_1",
            "type": "function",
            "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'},
        }
        return 200, {}, chat_completion(model, {"content": None, "tool_calls": [call]}, "tool_calls")
    return 200, {}, chat_completion(model, {"content": "5" if wants_tools else "pong"})


def openai_models(*names: str) -> Route:
    return ok({"object": "list", "data": [{"id": n, "object": "model", "owned_by": "me"} for n in names]})


# -- discovery ---------------------------------------------------------------------------


def test_ollama_host_from_env(monkeypatch: pytest.MonkeyPatch, no_provider_env: None) -> None:
    assert ollama_host() == "http://localhost:11434"
    monkeypatch.setenv("OLLAMA_BASE_URL", "http://gpu-box:11434/v1/")
    assert ollama_host() == "http://gpu-box:11434"
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0:11435")
    assert ollama_host() == "http://0.0.0.0:11435"


async def test_discover_ollama(monkeypatch: pytest.MonkeyPatch, no_provider_env: None) -> None:
    routes = {("GET", "/api/tags"): ok(OLLAMA_TAGS), ("POST", "/api/show"): ollama_show}
    with FakeServer(routes) as server:
        monkeypatch.setenv("OLLAMA_BASE_URL", f"{server.url}/v1")
        models = await discover("ollama")
    assert models == [
        DiscoveredModel(
            "ollama:llama3.1:8b-instruct-q8_0", "ollama", f"{server.url}/v1", None, 0.0, 0.0, True, None
        ),
        DiscoveredModel(
            "ollama:qwen2.5-coder:14b", "ollama", f"{server.url}/v1", 32768, 0.0, 0.0, True, True
        ),
    ]
    assert models[1].name == "qwen2.5-coder:14b"


async def test_llama_cpp_server_falls_back_to_v1_models(no_provider_env: None) -> None:
    with FakeServer({("GET", "/v1/models"): openai_models("qwen2.5-coder-1.5b")}) as server:
        models = await discover(server.url)
        direct = await discover(f"{server.url}/v1/")
    expected = DiscoveredModel(
        "openai-chat:qwen2.5-coder-1.5b", "openai-compatible", f"{server.url}/v1", None, 0.0, 0.0, True
    )
    assert models == direct == [expected]
    assert [path for _, path, _ in server.requests] == ["/api/tags", "/v1/models", "/v1/models"]


async def test_discover_openrouter_prices_and_free(
    monkeypatch: pytest.MonkeyPatch, no_provider_env: None
) -> None:
    with FakeServer({("GET", "/api/v1/models"): ok(OPENROUTER_MODELS)}) as server:
        monkeypatch.setenv("OPENROUTER_BASE_URL", f"{server.url}/api/v1")
        models = await discover("openrouter")
        free = await discover("openrouter", free_only=True)
    base = f"{server.url}/api/v1"
    assert models == [
        DiscoveredModel(
            "openrouter:deepseek/deepseek-chat", "openrouter", base, 163840, 0.3, 1.2, False, False
        ),
        DiscoveredModel(
            "openrouter:meta-llama/llama-3.3-8b-instruct:free",
            "openrouter",
            base,
            128000,
            0.0,
            0.0,
            True,
            True,
        ),
        DiscoveredModel("openrouter:openrouter/auto", "openrouter", base, 2000000, None, None, False, None),
    ]
    assert [m.model for m in free] == ["openrouter:meta-llama/llama-3.3-8b-instruct:free"]
    assert "authorization" not in server.headers[0]  # no key: no header


async def test_openrouter_key_is_sent_when_set(
    monkeypatch: pytest.MonkeyPatch, no_provider_env: None
) -> None:
    with FakeServer({("GET", "/api/v1/models"): ok({"data": []})}) as server:
        monkeypatch.setenv("OPENROUTER_BASE_URL", f"{server.url}/api/v1")
        monkeypatch.setenv("OPENROUTER_API_KEY", "sk-test")
        assert await discover("openrouter") == []
    assert server.headers[0]["authorization"] == "Bearer sk-test"


@pytest.mark.parametrize(
    ("route", "error_class", "message"),
    [
        (
            lambda body: (429, {"retry-after": "30"}, {"error": "slow down"}),
            "rate_limited",
            "rate-limited the request to {url}/api/v1/models, retry after 30 s",
        ),
        (lambda body: (200, {}, b"{not json"), "invalid_output", "answered with malformed JSON"),
        (ok({"models": "yes"}), "invalid_output", "answered with malformed JSON: no `data` list"),
        (lambda body: (401, {}, {"error": "bad key"}), "auth", "answered HTTP 401"),
    ],
)
async def test_openrouter_errors(
    monkeypatch: pytest.MonkeyPatch, no_provider_env: None, route: Route, error_class: str, message: str
) -> None:
    with FakeServer({("GET", "/api/v1/models"): route}) as server:
        monkeypatch.setenv("OPENROUTER_BASE_URL", f"{server.url}/api/v1")
        with pytest.raises(DiscoveryError) as info:
            await discover("openrouter")
    assert info.value.error_class == error_class
    assert message.format(url=server.url) in str(info.value)
    assert "\n" not in str(info.value)


async def test_slow_provider_times_out(monkeypatch: pytest.MonkeyPatch, no_provider_env: None) -> None:
    monkeypatch.setattr(discovery, "LIST_TIMEOUT", 0.3)

    def slow(body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        time.sleep(1)
        return 200, {}, {"data": []}

    with FakeServer({("GET", "/api/v1/models"): slow, ("GET", "/api/tags"): slow}) as server:
        monkeypatch.setenv("OPENROUTER_BASE_URL", f"{server.url}/api/v1")
        with pytest.raises(DiscoveryError, match=r"did not answer within 0.3 s") as info:
            await discover("openrouter")
        assert info.value.error_class == "timeout"
        with pytest.raises(DiscoveryError, match=r"did not answer within 0.3 s"):
            await discover(server.url)


async def test_unreachable_ollama_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, no_provider_env: None
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{free_port()}")
    with pytest.raises(DiscoveryError) as info:
        await discover("ollama")
    assert str(info.value) == (
        f"Ollama is not reachable at {ollama_host()}: start it with `ollama serve` (or set OLLAMA_HOST)"
    )
    assert info.value.error_class == "connection_refused"


async def test_server_without_any_model_list(no_provider_env: None) -> None:
    match = r"answered HTTP 404 for .*/v1/models"
    with FakeServer({}) as server, pytest.raises(DiscoveryError, match=match) as info:  # 404 everywhere
        await discover(server.url)
    assert info.value.error_class == "not_found"


async def test_malformed_ollama_tags(no_provider_env: None) -> None:
    routes: dict[tuple[str, str], Route] = {("GET", "/api/tags"): lambda body: (200, {}, b"[1, 2")}
    with FakeServer(routes) as server, pytest.raises(DiscoveryError, match="malformed JSON") as info:
        await discover(server.url)
    assert info.value.error_class == "invalid_output"


async def test_unknown_provider() -> None:
    with pytest.raises(DiscoveryError, match="use ollama, openrouter or a server URL"):
        await discover("bedrock")


# -- probes ------------------------------------------------------------------------------


@pytest.fixture
def allow_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    # The "model" is the fake server above on loopback; assertions are on our classification.
    monkeypatch.setattr(pydantic_ai.models, "ALLOW_MODEL_REQUESTS", True)


@pytest.fixture
def chat_server() -> Iterator[FakeServer]:
    names = ("tooly", "texty", "limited", "missing", "slow", "broken", "notools")
    routes = {("GET", "/v1/models"): openai_models(*names), ("POST", "/v1/chat/completions"): openai_chat}
    with FakeServer(routes) as server:
        yield server


async def test_probe_classifies_each_model(
    chat_server: FakeServer, allow_requests: None, no_provider_env: None, tmp_path: Path
) -> None:
    history = History(tmp_path / "h.sqlite")
    models = await discover(f"{chat_server.url}/v1")
    results = {r.model: r for r in await probe(models, timeout=1.0, concurrency=3, history=history)}

    tooly = results["openai-chat:tooly"]
    assert (tooly.reachable, tooly.supports_tools, tooly.error_class) == (True, True, None)
    assert tooly.latency is not None and tooly.latency < 1.0
    assert tooly.detail == "called add(2, 3)"

    texty = results["openai-chat:texty"]
    assert (texty.reachable, texty.supports_tools, texty.detail) == (
        True,
        False,
        "answered without calling the tool",
    )

    notools = results["openai-chat:notools"]
    assert (notools.reachable, notools.supports_tools, notools.error_class) == (
        True,
        False,
        "no_tool_support",
    )

    limited = results["openai-chat:limited"]
    assert (limited.reachable, limited.error_class, limited.retry_after) == (False, "rate_limited", 7.0)

    assert (results["openai-chat:missing"].reachable, results["openai-chat:missing"].error_class) == (
        False,
        "not_found",
    )
    assert results["openai-chat:slow"].error_class == "timeout"
    broken = results["openai-chat:broken"]
    assert (broken.reachable, broken.supports_tools) == (False, None)
    assert "decode" in broken.detail  # tools/errors classifies a bad body as "unknown"

    probes = {p.model: p for p in history.latest_probes()}
    assert probes["openai-chat:tooly"].supports_tools is True
    assert probes["openai-chat:limited"].retry_after == 7.0
    stats = {s.model: s for s in history.model_stats(sources=("probe",))}
    assert stats["openai-chat:tooly"].calls == 2  # the chat request and the tool request
    assert stats["openai-chat:tooly"].output_tokens > 0
    assert stats["openai-chat:limited"].calls == 1
    assert stats["openai-chat:limited"].last_error_class == "rate_limited"
    assert history.model_stats(sources=("run", "eval", "ab")) == []  # probes stay out of work stats


# -- the `discover` command --------------------------------------------------------------


def test_cli_unreachable_provider_is_one_line(monkeypatch: pytest.MonkeyPatch, no_provider_env: None) -> None:
    from typer.testing import CliRunner

    from agents.models.cli import app

    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{free_port()}")
    result = CliRunner().invoke(app, ["discover"])
    assert result.exit_code == 2  # a provider that is not running: configuration, as in agents.run
    hint = "start it with `ollama serve` (or set OLLAMA_HOST)"
    assert result.stderr == f"error: Ollama is not reachable at {ollama_host()}: {hint}\n"
    assert "Traceback" not in result.output


def test_cli_discover_openrouter_free_json(monkeypatch: pytest.MonkeyPatch, no_provider_env: None) -> None:
    from typer.testing import CliRunner

    from agents.models.cli import app

    with FakeServer({("GET", "/api/v1/models"): ok(OPENROUTER_MODELS)}) as server:
        monkeypatch.setenv("OPENROUTER_BASE_URL", f"{server.url}/api/v1")
        as_json = CliRunner().invoke(app, ["discover", "--provider", "openrouter", "--free", "--json"])
        table = CliRunner().invoke(app, ["discover", "--provider", "openrouter"])
    assert as_json.exit_code == 0, as_json.output
    (row,) = json.loads(as_json.stdout)
    assert (row["model"], row["free"], row["context_length"]) == (
        "openrouter:meta-llama/llama-3.3-8b-instruct:free",
        True,
        128000,
    )
    assert table.exit_code == 0
    assert "openrouter:deepseek/deepseek-chat" in table.stdout
    assert "3 models" in table.stdout


def test_cli_discover_probe_records_history(
    chat_server: FakeServer,
    allow_requests: None,
    no_provider_env: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from typer.testing import CliRunner

    from agents.models.cli import app

    monkeypatch.setenv("CODECREW_HISTORY", str(tmp_path / "h.sqlite"))
    chat_server.routes[("GET", "/v1/models")] = openai_models("tooly", "limited")
    args = ["discover", "--provider", f"{chat_server.url}/v1", "--probe", "--timeout", "5", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = {row["model"]: row["probe"] for row in json.loads(result.stdout)}
    assert rows["openai-chat:tooly"]["supports_tools"] is True
    assert (rows["openai-chat:limited"]["error_class"], rows["openai-chat:limited"]["retry_after"]) == (
        "rate_limited",
        7.0,
    )
    assert {p.model for p in History(tmp_path / "h.sqlite").latest_probes()} == {
        "openai-chat:tooly",
        "openai-chat:limited",
    }


def test_cli_openai_compatible_server_models_work_as_openai_chat(no_provider_env: None) -> None:
    """A bare OpenAI-compatible server (llama.cpp, vLLM) serves `openai-chat:` strings, reached
    through OPENAI_BASE_URL; `ollama:` would send the user to an Ollama that is not there."""
    from typer.testing import CliRunner

    from agents.models.cli import app

    with FakeServer({("GET", "/v1/models"): openai_models("qwen2.5-coder-1.5b")}) as server:
        table = CliRunner().invoke(app, ["discover", "--provider", f"{server.url}/v1"])
        as_json = CliRunner().invoke(app, ["discover", "--provider", f"{server.url}/v1", "--json"])
    assert table.exit_code == 0, table.output
    assert "openai-chat:qwen2.5-coder-1.5b" in table.stdout and "ollama:" not in table.stdout
    assert f"set OPENAI_BASE_URL={server.url}/v1 to use these models" in table.stdout
    (row,) = json.loads(as_json.stdout)
    assert (row["model"], row["env"]) == (
        "openai-chat:qwen2.5-coder-1.5b",
        {"OPENAI_BASE_URL": f"{server.url}/v1"},
    )


def test_cli_unknown_provider_exits_2(no_provider_env: None) -> None:
    from typer.testing import CliRunner

    from agents.models.cli import app

    result = CliRunner().invoke(app, ["discover", "--provider", "nosuch"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: unknown provider 'nosuch'")
