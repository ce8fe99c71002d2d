"""The whole delegation flow, scripted with FunctionModel: no real model is asked."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from inline_snapshot import snapshot
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    RetryPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel

from agents.config import ConfigError, Settings
from agents.coordinator import coordinator_agent
from agents.extractor import extractor_agent
from agents.generator import generator_agent
from agents.pipeline import ANSWER_FILE, run_pipeline
from agents.progress import Reporter
from tools.sandbox import SandboxStatus

TETRIS = """Here is the game.

### index.html
```html
<!DOCTYPE html>
<html><body><canvas id="board" width="200" height="400"></canvas>
<script>
const ctx = document.getElementById('board').getContext('2d');
ctx.fillRect(0, 0, 20, 20);
</script></body></html>
```
Enjoy!
"""

LAZY = """```html
<!DOCTYPE html>
<html><body><script>
function rotate(piece) {
  // ... rest of the code here
}
</script></body></html>
```"""

SPLIT = """```html
<!DOCTYPE html>
<html><head><link rel="stylesheet" href="style.css"></head>
<body><canvas id="c"></canvas><script src="game.js"></script></body></html>
```
```css
canvas { border: 1px solid #000; }
```
```css
body { margin: 0; }
```
```javascript
const c = document.getElementById('c');
```
"""


def tool_returns(messages: list[ModelMessage]) -> list[ToolReturnPart | RetryPromptPart]:
    return [
        part
        for message in messages
        if isinstance(message, ModelRequest)
        for part in message.parts
        if isinstance(part, ToolReturnPart | RetryPromptPart)
    ]


def scripted_coordinator(log: list[str]) -> FunctionModel:
    """Calls generate -> extract -> write -> finish, one per turn, logging what each tool said."""
    steps = [
        ToolCallPart("generate_code", {"spec": "A Tetris game in one index.html with a canvas."}),
        ToolCallPart("extract_files", {}),
        ToolCallPart("write_files", {}),
        ToolCallPart("finish", {}),
    ]

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        returns = tool_returns(messages)
        if returns:
            log.append(f"{returns[-1].tool_name}: {returns[-1].model_response_str()}")
        return ModelResponse(parts=[steps[min(len(returns), 3)]])

    return FunctionModel(respond)


def text_model(answer: Callable[[list[ModelMessage]], str]) -> FunctionModel:
    """A generator that answers `answer(messages)`, plainly or streamed in small chunks."""

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        return ModelResponse(parts=[TextPart(answer(messages))])

    async def stream(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[str]:
        text = answer(messages)
        for start in range(0, len(text), 16):
            yield text[start : start + 16]

    return FunctionModel(respond, stream_function=stream)


def generator_answers(*answers: str) -> FunctionModel:
    """Answers in turn (the last one repeats), like a model sent back to rewrite."""
    calls = iter(range(1000))
    return text_model(lambda messages: answers[min(next(calls), len(answers) - 1)])


@pytest.fixture
def settings() -> Settings:
    return Settings.load({}, coordinator="test", generator="test", extractor="test")


async def run_scripted(
    settings: Settings,
    out: Path,
    generator: FunctionModel,
    extractor: FunctionModel | None = None,
    log: list[str] | None = None,
):
    extractor = extractor or FunctionModel(lambda m, i: pytest.fail("extractor should not be asked"))
    with (
        coordinator_agent.override(model=scripted_coordinator(log if log is not None else [])),
        generator_agent.override(model=generator),
        extractor_agent.override(model=extractor),
    ):
        return await run_pipeline("build tetris", settings, out)


async def test_delegation_flow_writes_files_and_sums_usage(settings: Settings, tmp_path: Path) -> None:
    log: list[str] = []
    manifest = await run_scripted(settings, tmp_path / "out", generator_answers(TETRIS), log=log)

    assert manifest.status in ("ok", "not_working"), manifest.error  # the page's verdict: tools.verify
    assert log[:2] == snapshot(
        [
            "generate_code: Generated 259 characters of complete code. Call extract_files next.",
            "extract_files: Files: index.html (206 chars). Call write_files next.",
        ]
    )
    # write_files answers with the judge's verdict (which judge runs a page: tools.verify)
    assert log[2].startswith(f"write_files: Wrote 1 files to {tmp_path / 'out'}; ")
    written = (tmp_path / "out" / "index.html").read_text()
    assert written == TETRIS.split("```html\n")[1].split("```")[0]  # byte-identical to the answer
    assert [f.name for f in manifest.files] == ["index.html"]
    assert {role: a.requests for role, a in manifest.agents.items()} == snapshot(
        {"coordinator": 4, "generator": 1, "extractor": 0}
    )
    # Per-agent usage adds up to pydantic-ai's own count for the run (usage=ctx.usage).
    assert manifest.totals.requests == manifest.total_requests == 5
    assert manifest.totals.input_tokens == sum(a.input_tokens for a in manifest.agents.values())
    assert manifest.totals.output_tokens == sum(a.output_tokens for a in manifest.agents.values())
    assert manifest.agents["extractor"].note == "not needed: the layout was unambiguous"
    assert manifest.agents["coordinator"].tool_calls == [
        "generate_code",
        "extract_files",
        "write_files",
        "finish",
    ]
    on_disk = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert on_disk["status"] == manifest.status and on_disk["spec"].startswith("A Tetris game")


async def test_lazy_answer_is_sent_back_and_rewritten(settings: Settings, tmp_path: Path) -> None:
    reasons: list[str] = []

    def answer(messages: list[ModelMessage]) -> str:
        # What the model was told after its first answer: the retry with the reason.
        reasons[:] = [str(part.content) for message in messages[2:] for part in message.parts]
        return LAZY if len(messages) == 1 else TETRIS

    manifest = await run_scripted(settings, tmp_path / "out", text_model(answer))

    assert manifest.status in ("ok", "not_working"), manifest.error  # the page's verdict: tools.verify
    assert manifest.lazy.rewrites == 1 and not manifest.lazy.lazy
    assert manifest.agents["generator"].requests == 2
    assert len(reasons) == 1 and "rest of the code" in reasons[0] and "Rewrite ALL" in reasons[0]


async def test_still_lazy_ends_the_run_with_the_verdict(settings: Settings, tmp_path: Path) -> None:
    manifest = await run_scripted(settings, tmp_path / "out", generator_answers(LAZY))

    assert manifest.status == "lazy"
    assert manifest.error_class == "lazy_output"
    assert manifest.lazy.lazy and manifest.lazy.rewrites == 2
    assert any("rest of the code" in p for p in manifest.lazy.placeholders)
    assert manifest.agents["generator"].requests == 3
    assert (tmp_path / "out" / ANSWER_FILE).read_text() == LAZY  # the answer is kept
    assert not (tmp_path / "out" / "index.html").exists()


async def test_ambiguous_layout_asks_the_extractor_for_names_only(settings: Settings, tmp_path: Path) -> None:
    def layout(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        prompt = str(messages[0].parts[-1].content)  # type: ignore[union-attr]
        assert "canvas { border" in prompt and "const c" in prompt  # sees first lines...
        assert info.output_tools, "answers through the structured output tool"
        files = [{"block": 0, "name": "index.html"}, {"block": 1, "name": "style.css"}]
        files.append({"block": 3, "name": "game.js"})
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, {"files": files})])

    manifest = await run_scripted(settings, tmp_path / "out", generator_answers(SPLIT), FunctionModel(layout))

    assert manifest.status in ("ok", "not_working"), manifest.error  # the page's verdict: tools.verify
    assert sorted(f.name for f in manifest.files) == ["game.js", "index.html", "style.css"]
    assert (tmp_path / "out" / "style.css").read_text() == "canvas { border: 1px solid #000; }\n"
    assert manifest.agents["extractor"].requests == 1
    assert manifest.layout is not None and manifest.layout.startswith("chosen by the extractor agent")


async def test_a_file_name_with_a_space_goes_back_to_the_extractor(
    settings: Settings, tmp_path: Path
) -> None:
    """Seen on the 1.5B: `hint index.html` (a label read as a name) broke the page's script link."""
    told: list[str] = []

    def layout(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        said = [
            str(p.content)
            for m in messages
            for p in m.parts
            if isinstance(p, ToolReturnPart | RetryPromptPart)
        ]
        told[:] = said
        page = "index.html" if told else "hint index.html"
        files = [
            {"block": 0, "name": page},
            {"block": 1, "name": "style.css"},
            {"block": 3, "name": "game.js"},
        ]
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, {"files": files})])

    manifest = await run_scripted(settings, tmp_path / "out", generator_answers(SPLIT), FunctionModel(layout))

    assert len(told) == 1 and "'hint index.html' has a space in it" in told[0]
    assert sorted(f.name for f in manifest.files) == ["game.js", "index.html", "style.css"]


async def test_model_string_test_ends_with_no_code(settings: Settings, tmp_path: Path) -> None:
    """TestModel writes no code: the flow runs to the end and says so in one line."""
    manifest = await run_pipeline("build tetris", settings, tmp_path / "out")

    assert manifest.status == "error"
    assert manifest.error_class == "no_code"
    assert manifest.error == "no code in the answer of test after 3 tries"
    assert manifest.agents["generator"].requests == 3
    assert (tmp_path / "out" / "manifest.json").exists()


@pytest.mark.parametrize("request_text", ["", "   \n"])
async def test_empty_prompt_is_refused(settings: Settings, tmp_path: Path, request_text: str) -> None:
    with pytest.raises(ConfigError, match="the prompt is empty"):
        await run_pipeline(request_text, settings, tmp_path)


async def test_non_empty_output_folder_needs_force(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="pass --force"):
        await run_pipeline("build tetris", settings, tmp_path)
    assert (tmp_path / "keep.txt").read_text() == "mine"


async def test_each_agent_is_recorded_in_the_history(settings: Settings, tmp_path: Path) -> None:
    from tools.history import History

    manifest = await run_pipeline("build tetris", settings, tmp_path / "out", task_type="code_generation")

    stats = {(s.model, s.calls, s.successes) for s in History().model_stats(role="generator")}
    assert stats == {("test", 1, 0)}  # the generator wrote no code: its failure
    [coordinator] = History().model_stats(role="coordinator")
    assert coordinator.calls == coordinator.successes == 1  # not charged for the generator's failure
    assert manifest.failed_role == "generator"
    assert History().model_stats(task_type="code_generation")[0].last_error_class == "no_code"


async def test_a_weak_sandbox_is_said_in_the_run_and_the_manifest(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The files run in the sandbox: a weaker tier than bwrap is never used silently."""
    warning = "sandbox: socket-guard only (bwrap not installed): generated code is not contained"
    monkeypatch.setattr(
        "agents.pipeline.sandbox_status",
        lambda: SandboxStatus(isolation="socket-guard", weak=True, warning=warning),
    )
    notes: list[str] = []

    class Notes(Reporter):
        def note(self, text: str) -> None:
            notes.append(text)

    manifest = await run_pipeline("build tetris", settings, tmp_path / "out", reporter=Notes())

    assert notes == [warning]
    saved = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest.sandbox_warning == saved["sandbox_warning"] == warning
