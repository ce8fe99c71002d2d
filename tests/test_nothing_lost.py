"""Issue 11, items 7-9: a run keeps the answer whatever ends it, checks its output folder before
asking any model, and names what went wrong with the right error class."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from typer.testing import CliRunner

from agents.config import ConfigError, Settings
from agents.coordinator import coordinator_agent
from agents.extractor import extractor_agent
from agents.generator import generate, generator_agent
from agents.models.build import build_model
from agents.pipeline import ANSWER_FILE, run_pipeline
from agents.run import EXIT_CONFIG, app
from tools.errors import ErrorClass, classify_error

STEPS = [
    ToolCallPart("generate_code", {"spec": "A Tetris game in one index.html."}),
    ToolCallPart("extract_files", {}),
    ToolCallPart("write_files", {}),
]


def coordinator() -> FunctionModel:
    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        done = sum(1 for m in messages for p in m.parts if p.part_kind in ("tool-return", "retry-prompt"))
        return ModelResponse(parts=[STEPS[min(done, 2)]])

    return FunctionModel(respond)


def text_model(respond: Callable[[list[ModelMessage], AgentInfo], ModelResponse]) -> FunctionModel:
    """A generator that answers with `respond`, plainly or streamed (the pipeline streams)."""

    async def stream(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[str]:
        text = "".join(p.content for p in respond(messages, info).parts if isinstance(p, TextPart))
        for start in range(0, len(text), 16):
            yield text[start : start + 16]

    return FunctionModel(respond, stream_function=stream)


def answering(text: str) -> FunctionModel:
    return text_model(lambda messages, info: ModelResponse(parts=[TextPart(text)]))


@pytest.fixture
def settings() -> Settings:
    return Settings.load({}, coordinator="test", generator="test", extractor="test")


async def run_scripted(settings: Settings, out: Path, generator: FunctionModel):
    never = FunctionModel(lambda m, i: pytest.fail("extractor should not be asked"))
    with (
        coordinator_agent.override(model=coordinator()),
        generator_agent.override(model=generator),
        extractor_agent.override(model=never),
    ):
        return await run_pipeline("build tetris", settings, out)


# --- 7: an answer with no code is kept --------------------------------------------------


async def test_answer_with_no_code_is_kept(settings: Settings, tmp_path: Path) -> None:
    prose = "I am sorry, I cannot write games. Try a search engine."
    manifest = await run_scripted(settings, tmp_path / "out", answering(prose))
    assert manifest.status == "error" and manifest.error_class == "no_code"
    assert (tmp_path / "out" / ANSWER_FILE).read_text() == prose


# --- 8: the output folder ----------------------------------------------------------------


@pytest.mark.parametrize("where", ["file", "under_file", "proc"])
async def test_unwritable_out_is_refused_before_any_model_is_asked(
    settings: Settings, tmp_path: Path, where: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    out = {"file": blocker, "under_file": blocker / "out", "proc": Path("/proc/codecrew-out")}[where]
    asked: list[str] = []

    def ask(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        asked.append("asked")
        return ModelResponse(parts=[TextPart("x")])

    model = FunctionModel(ask)
    with (
        pytest.raises(ConfigError, match="cannot write"),
        coordinator_agent.override(model=model),
        generator_agent.override(model=model),
    ):
        await run_pipeline("build tetris", settings, out)
    assert asked == []


def test_unwritable_out_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("COORDINATOR_MODEL", "CODE_GENERATOR_MODEL", "CODE_EXTRACTOR_MODEL"):
        monkeypatch.setenv(var, "test")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = CliRunner().invoke(app, ["build tetris", "--out", str(blocker / "out")])
    assert result.exit_code == EXIT_CONFIG
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot write" in errors[0] and "--out" in errors[0]


async def test_out_unwritable_mid_run_saves_the_answer_in_the_cache(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("CODECREW_CACHE_DIR", str(cache))
    out = tmp_path / "out"
    answer = "```html\n<!DOCTYPE html><html><body>game</body></html>\n```\n"

    def break_the_folder(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        shutil.rmtree(out, ignore_errors=True)
        out.write_text("now a file: the folder cannot be written")  # as root, chmod stops nothing
        return ModelResponse(parts=[TextPart(answer)])

    manifest = await run_scripted(settings, out, text_model(break_the_folder))
    assert manifest.status == "error"
    assert manifest.saved_to and Path(manifest.saved_to).is_relative_to(cache)
    saved = Path(manifest.saved_to)
    assert (saved / ANSWER_FILE).read_text() == answer
    assert json.loads((saved / "manifest.json").read_text())["saved_to"] == str(saved)


# --- 9: error classes --------------------------------------------------------------------


@pytest.fixture
def not_json_server() -> Iterator[str]:
    """An OpenAI-compatible endpoint that answers 200 with an HTML error page."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            body = b"<html><body>502 from some proxy</body></html>"
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("streamed", [False, True])
async def test_non_json_200_is_invalid_output(
    not_json_server: str, monkeypatch: pytest.MonkeyPatch, streamed: bool
) -> None:
    import pydantic_ai.models

    monkeypatch.setattr(pydantic_ai.models, "ALLOW_MODEL_REQUESTS", True)  # our own loopback server
    monkeypatch.setenv("OPENAI_BASE_URL", not_json_server)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    model = build_model("openai-chat:scripted", Settings.load({}))
    with pytest.raises(Exception) as caught:
        await generate("build tetris", model, on_tokens=(lambda n: None) if streamed else None)
    assert classify_error(caught.value) is ErrorClass.invalid_output
    assert "after 0 tries" not in str(caught.value)


async def test_malformed_tool_call_is_invalid_output() -> None:
    def call_a_tool(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        return ModelResponse(parts=[ToolCallPart("write_file", '{"name": "index.html", "content": <html')])

    with pytest.raises(Exception) as caught:
        await generate("build tetris", FunctionModel(call_a_tool))
    assert classify_error(caught.value) is ErrorClass.invalid_output
    assert "after 0 tries" not in str(caught.value)


@pytest.mark.parametrize("name", ["../../evil.py", "a/../../evil.py", ".git/hooks/pre-commit.py"])
async def test_unsafe_file_name_has_its_own_class(settings: Settings, tmp_path: Path, name: str) -> None:
    answer = f"### {name}\n```python\nprint('hi')\n```\n"
    manifest = await run_scripted(settings, tmp_path / "out", answering(answer))
    assert manifest.status == "error"
    assert manifest.error_class == "unsafe_path" == ErrorClass.unsafe_path
    assert name in (manifest.error or "")
    assert not (tmp_path / "evil.py").exists() and not (tmp_path / "out" / ".git").exists()
    assert (tmp_path / "out" / ANSWER_FILE).read_text() == answer  # kept, as every failed run's
