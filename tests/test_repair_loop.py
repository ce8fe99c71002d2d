"""Verify and repair, driven by a scripted coordinator: the judge is real (tools.verify runs
the Python scripts in tools/sandbox), the models are FunctionModels."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel
from typer.testing import CliRunner

from agents.config import ConfigError, Settings
from agents.coordinator import coordinator_agent
from agents.editor import editor_agent
from agents.extractor import extractor_agent
from agents.generator import generator_agent
from agents.pipeline import run_pipeline
from agents.run import EXIT_CONFIG, EXIT_NOT_WORKING, app
from agents.verification import POINTLESS_CALLS, generation_prompt, repair_budget, repair_prompt
from tools.browser import browser_available
from tools.extract import ExtractedFile
from tools.verify import Check, Verdict

REQUEST = "write a python script that prints the sum of 2 and 3"


def script(body: str) -> str:
    return f"### main.py\n```python\n{body}\n```\n"


BROKEN = script("print(undefined_total)")  # NameError at run time
FIXED = script("print(2 + 3)")
WORSE = script("print(2 +")  # does not even compile


def coordinator(*, repairs_asked: int, log: list[str] | None = None) -> FunctionModel:
    """generate -> extract -> write -> repair x N -> finish, one tool call per turn."""
    steps = [
        ToolCallPart("generate_code", {"spec": "A Python script main.py that prints 2 + 3."}),
        ToolCallPart("extract_files", {}),
        ToolCallPart("write_files", {}),
        *[ToolCallPart("repair", {"notes": "fix the error"}) for _ in range(repairs_asked)],
        ToolCallPart("finish", {}),
    ]

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        returns = [
            p
            for m in messages
            if isinstance(m, ModelRequest)
            for p in m.parts
            if isinstance(p, ToolReturnPart)
        ]
        if log is not None and returns:
            log.append(f"{returns[-1].tool_name}: {returns[-1].model_response_str()}")
        return ModelResponse(parts=[steps[min(len(returns), len(steps) - 1)]])

    return FunctionModel(respond)


class Generator:
    """Answers in turn (the last repeats) and records each prompt and its settings."""

    def __init__(self, *answers: str) -> None:
        self.answers = answers
        self.prompts: list[str] = []
        self.seeds: list[int | None] = []
        self.max_tokens: list[int | None] = []
        self.temperatures: list[float | None] = []

    def answer(self, messages: list[ModelMessage], info: AgentInfo) -> str:
        self.prompts.append(str(messages[-1].parts[-1].content))  # type: ignore[union-attr]
        settings = info.model_settings or {}
        self.seeds.append(settings.get("seed"))
        self.max_tokens.append(settings.get("max_tokens"))
        self.temperatures.append(settings.get("temperature"))
        return self.answers[min(len(self.prompts) - 1, len(self.answers) - 1)]

    def model(self) -> FunctionModel:
        def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
            return ModelResponse(parts=[TextPart(self.answer(messages, info))])

        async def stream(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[str]:
            yield self.answer(messages, info)

        return FunctionModel(respond, stream_function=stream)


@contextmanager
def scripted(generator: Generator, coordinator_model: FunctionModel) -> Iterator[None]:
    no_extractor = FunctionModel(lambda m, i: pytest.fail("the extractor should not be asked"))
    with (
        coordinator_agent.override(model=coordinator_model),
        generator_agent.override(model=generator.model()),
        editor_agent.override(model=generator.model()),
        extractor_agent.override(model=no_extractor),
    ):
        yield


def settings(**loop: object) -> Settings:
    return Settings.load({}, coordinator="test", generator="test", extractor="test", **loop)


async def run(
    generator: Generator, out: Path, *, repairs_asked: int = 2, log: list[str] | None = None, **loop: object
):
    with scripted(generator, coordinator(repairs_asked=repairs_asked, log=log)):
        return await run_pipeline(REQUEST, settings(**loop), out)


async def test_a_broken_first_answer_is_repaired_and_verified(tmp_path: Path) -> None:
    generator = Generator(BROKEN, FIXED)
    log: list[str] = []
    manifest = await run(generator, tmp_path / "out", repairs_asked=1, log=log)

    assert manifest.status == "ok", manifest.error
    record = manifest.verification
    assert [(v.kind, v.verdict.status if v.verdict else None) for v in record.versions] == [
        ("generate", "failed"),
        ("repair", "verified"),
    ]
    assert record.kept == 1 and record.verdict is not None and record.verdict.status == "verified"
    assert (tmp_path / "out" / "main.py").read_text() == "print(2 + 3)\n"
    # The repair was asked afresh: the request, the judge's evidence, the current file.
    repair_asked = generator.prompts[1]
    assert repair_asked.startswith(REQUEST) and "undefined_total" in repair_asked
    assert "NameError" in repair_asked and "complete corrected files" in repair_asked
    assert generator.seeds[0] != generator.seeds[1]  # another sample, not the same answer again
    assert generator.max_tokens[1] is not None and generator.max_tokens[1] < 6144  # near the file's size
    assert log[2].startswith("write_files: Wrote 1 files") and "repair" in log[2]
    assert log[3].startswith("repair: Repair 1 of 2: version 1: verified")
    assert record.versions[1].output_tokens > 0 and record.versions[1].duration > 0
    on_disk = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert on_disk["verification"]["verdict"]["status"] == "verified"


async def test_a_repair_that_makes_it_worse_keeps_the_earlier_files(tmp_path: Path) -> None:
    manifest = await run(Generator(BROKEN, WORSE), tmp_path / "out", repairs_asked=1)

    record = manifest.verification
    assert manifest.status == "not_working"
    assert [v.kind for v in record.versions] == ["generate", "repair"]
    assert record.kept == 0
    assert record.kept_reason is not None and "earlier files" in record.kept_reason
    assert (tmp_path / "out" / "main.py").read_text() == "print(undefined_total)\n"
    assert [f.name for f in manifest.files] == ["main.py"]


async def test_the_cap_holds_when_the_coordinator_keeps_asking(tmp_path: Path) -> None:
    answers = [BROKEN, *(script(f"raise SystemExit({n})") for n in range(1, 9))]
    generator = Generator(*answers)
    log: list[str] = []
    manifest = await run(generator, tmp_path / "out", repairs_asked=8, log=log, repairs=2)

    assert manifest.status == "not_working"
    assert len(generator.prompts) == 3  # the first answer and two repairs, never more
    assert manifest.verification.repairs_used == 2
    assert any("No repairs left (the limit is 2)" in line for line in log)
    # told twice, asked again: the run ends there instead of spending turns
    assert manifest.agents["coordinator"].tool_calls.count("repair") == 2 + POINTLESS_CALLS + 1
    assert (tmp_path / "out" / "main.py").exists()


async def test_the_same_files_again_is_a_failed_round_without_running_them(tmp_path: Path) -> None:
    manifest = await run(Generator(BROKEN), tmp_path / "out", repairs_asked=1)

    repair = manifest.verification.versions[1]
    assert repair.no_change and repair.verify_duration < 0.05
    assert repair.verdict is not None and repair.verdict.status == "failed"
    assert manifest.verification.kept == 0


async def test_repairs_zero_makes_no_repair(tmp_path: Path) -> None:
    generator = Generator(BROKEN, FIXED)
    log: list[str] = []
    manifest = await run(generator, tmp_path / "out", repairs_asked=3, log=log, repairs=0)

    assert len(generator.prompts) == 1
    assert manifest.status == "not_working" and manifest.verification.repairs_allowed == 0
    assert "Call finish." in log[2] and "repair" not in log[2].split("; ", 1)[1].lower()


async def test_samples_keep_the_verified_candidate(tmp_path: Path) -> None:
    def by_seed(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        seed = (info.model_settings or {}).get("seed")
        return ModelResponse(parts=[TextPart(FIXED if seed == 8 else BROKEN)])

    no_extractor = FunctionModel(lambda m, i: pytest.fail("the extractor should not be asked"))
    with (
        coordinator_agent.override(model=coordinator(repairs_asked=0)),
        generator_agent.override(model=FunctionModel(by_seed)),
        extractor_agent.override(model=no_extractor),
    ):
        manifest = await run_pipeline(REQUEST, settings(samples=3), tmp_path / "out")

    record = manifest.verification
    assert manifest.status == "ok", manifest.error
    assert [v.kind for v in record.versions] == ["sample"] * 3
    assert [v.seed for v in record.versions] == [7, 8, 9]
    assert record.kept == 1 and record.verdict is not None and record.verdict.status == "verified"
    assert (tmp_path / "out" / "main.py").read_text() == "print(2 + 3)\n"
    assert manifest.agents["generator"].requests == sum(v.requests for v in record.versions)


async def test_edit_repairs_change_only_the_named_lines(tmp_path: Path) -> None:
    edit = "main.py\n```python\n<<<<<<< SEARCH\nprint(undefined_total)\n=======\nprint(2 + 3)\n>>>>>>> REPLACE\n```"
    generator = Generator(BROKEN, edit)
    manifest = await run(generator, tmp_path / "out", repairs_asked=1, repair_format="edit")

    assert manifest.status == "ok", manifest.error
    assert manifest.verification.versions[1].repair_format == "edit"
    assert (tmp_path / "out" / "main.py").read_text() == "print(2 + 3)\n"
    assert "<<<<<<< SEARCH" in generator.prompts[1]


async def test_an_edit_that_does_not_apply_is_a_failed_round(tmp_path: Path) -> None:
    edit = "<<<<<<< SEARCH\nprint(nothing_like_this)\n=======\nprint(5)\n>>>>>>> REPLACE\n"
    manifest = await run(Generator(BROKEN, edit), tmp_path / "out", repairs_asked=1, repair_format="edit")

    repair = manifest.verification.versions[1]
    assert repair.error is not None and "not found" in repair.error and repair.verdict is None
    assert (tmp_path / "out" / "main.py").read_text() == "print(undefined_total)\n"


def test_the_cli_exits_4_and_keeps_the_files_when_nothing_fixes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("COORDINATOR_MODEL", "CODE_GENERATOR_MODEL", "CODE_EXTRACTOR_MODEL"):
        monkeypatch.setenv(var, "test")
    with scripted(Generator(BROKEN, WORSE), coordinator(repairs_asked=5)):
        result = CliRunner().invoke(app, [REQUEST, "--out", str(tmp_path / "out"), "--repairs", "1"])

    assert result.exit_code == EXIT_NOT_WORKING, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("not working:") and last.endswith(f"(files kept in {tmp_path / 'out'})")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "not_working" and manifest["verification"]["repairs_used"] == 1


def test_the_cli_exits_0_when_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("COORDINATOR_MODEL", "CODE_GENERATOR_MODEL", "CODE_EXTRACTOR_MODEL"):
        monkeypatch.setenv(var, "test")
    with scripted(Generator(BROKEN, FIXED), coordinator(repairs_asked=1)):
        result = CliRunner().invoke(app, [REQUEST, "--out", str(tmp_path / "out")])

    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("verified:")
    # the judge checks that it ran, not what it printed: the user is shown that to judge
    assert lines[-3:-1] == ["  it printed (not checked against the request):", "    5"]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["verification"]["verdict"]["checks"][-1]["output"] == "5"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--repairs", "-1"], "error: --repairs must be 0 or more, not -1"),
        (["--samples", "0"], "error: --samples must be 1 or more, not 0"),
        (["--repair-format", "diff"], "error: unknown repair format 'diff': use one of whole, edit"),
    ],
)
def test_bad_loop_options_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("COORDINATOR_MODEL", "CODE_GENERATOR_MODEL", "CODE_EXTRACTOR_MODEL"):
        monkeypatch.setenv(var, "test")
    result = CliRunner().invoke(app, [REQUEST, *args])
    assert result.exit_code == EXIT_CONFIG
    assert [line for line in result.output.splitlines() if line.startswith("error:")] == [message]


def test_bad_env_values_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="CODECREW_REPAIRS must be a whole number"):
        Settings.load({"CODECREW_REPAIRS": "two"})


def test_the_repair_prompt_and_budget() -> None:
    files = [ExtractedFile("main.py", "python", "x = 1\n" * 300, 0)]
    verdict = Verdict("failed", "python", (Check("runs", False, "exit 1: ZeroDivisionError"),), "fails")
    prompt = repair_prompt("build it", verdict, files, "divide by zero", "whole")
    assert prompt.startswith("build it") and "ZeroDivisionError" in prompt and "divide by zero" in prompt
    assert "### main.py\n```python\nx = 1" in prompt
    assert 256 < repair_budget(files, 6144) < 1300 and repair_budget(files, 300) == 300


async def test_the_first_verified_sample_cancels_the_others(tmp_path: Path) -> None:
    import asyncio

    async def slow_unless_fixed(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        if (info.model_settings or {}).get("seed") != 8:
            await asyncio.sleep(30)
        return ModelResponse(parts=[TextPart(FIXED)])

    with (
        coordinator_agent.override(model=coordinator(repairs_asked=0)),
        generator_agent.override(model=FunctionModel(slow_unless_fixed)),
    ):
        manifest = await asyncio.wait_for(run_pipeline(REQUEST, settings(samples=3), tmp_path / "out"), 20)

    record = manifest.verification
    assert manifest.status == "ok", manifest.error
    assert [v.cancelled for v in record.versions] == [True, False, True]
    assert record.kept == 1


async def test_a_judge_that_breaks_is_infrastructure_and_exit_5(tmp_path: Path) -> None:
    from agents.manifest import Manifest
    from agents.run import EXIT_UNVERIFIABLE, exit_code, verdict_line
    from agents.verification import RepairLoop

    async def broken_judge(*args: object, **kwargs: object) -> Verdict:
        raise OSError("bwrap: cannot create namespace")

    manifest = Manifest(request=REQUEST, out_dir=str(tmp_path / "out"))
    loop = RepairLoop(REQUEST, settings(), {}, manifest, tmp_path / "out", verify=broken_judge)
    version = await loop.accept(
        loop.new_version("generate"), FIXED, [ExtractedFile("main.py", "python", "x=1", 0)]
    )
    loop.finish()
    loop.close()
    manifest.status = "ok"

    assert version.verdict is not None and version.verdict.status == "infrastructure"
    assert loop.refuse_repair() is not None  # nothing the model could fix
    assert exit_code(manifest) == EXIT_UNVERIFIABLE
    line = verdict_line(manifest)
    assert line is not None and line.startswith("could not verify: the judge could not run: bwrap")
    assert (tmp_path / "out" / "main.py").read_text() == "x=1"


async def test_the_evals_pipeline_mode_runs_the_same_loop(tmp_path: Path) -> None:
    from evals.run import with_loop
    from evals.tasks import CaseInputs, TaskFactory

    loop_settings = with_loop(settings(), repairs=1, samples=None)
    assert (loop_settings.repairs, loop_settings.samples) == (1, 1)
    task = TaskFactory(tmp_path, settings=loop_settings).pipeline_task("test", suite="python")
    with scripted(Generator(BROKEN, FIXED), coordinator(repairs_asked=3)):
        out = await task(CaseInputs(prompt=REQUEST))

    assert out.error is None
    assert (out.verdict, out.versions, out.repairs_used) == ("verified", 2, 1)
    assert out.files == {"main.py": "print(2 + 3)\n"}


@pytest.mark.skipif(browser_available() is None, reason="chromium not found")
async def test_a_page_that_throws_is_repaired_in_chromium(tmp_path: Path) -> None:
    """The one web page test: the JavaScript error with its line goes into the repair."""
    from tests.test_verify import GAME, GAME_THROWS

    page = "### index.html\n```html\n{}\n```\n"
    generator = Generator(page.format(GAME_THROWS), page.format(GAME))
    with scripted(generator, coordinator(repairs_asked=1)):
        manifest = await run_pipeline("build snake", settings(), tmp_path / "out")

    record = manifest.verification
    assert manifest.status == "ok", manifest.error
    first, repair = record.versions
    assert (
        first.verdict is not None and first.verdict.judge == "web-game" and first.verdict.status == "failed"
    )
    assert "TypeError" in generator.prompts[1] and "index.html:5:" in generator.prompts[1]
    assert repair.verdict is not None and repair.verdict.status == "verified"
    assert record.kept == 1 and (tmp_path / "out" / "index.html").read_text().rstrip() == GAME
    assert record.verdict is not None and record.verdict.screenshot == str(
        tmp_path / "out" / "screenshot.png"
    )
    assert (tmp_path / "out" / "screenshot.png").stat().st_size > 0  # what the judge saw, kept with the files


async def test_the_same_version_sent_back_again_is_repaired_hotter(tmp_path: Path) -> None:
    """Two repairs of one kept version: the second gets a higher temperature, not just a seed."""
    still_broken = script("print(undefined_sum)")
    generator = Generator(BROKEN, still_broken, script("print(undefined_other)"))
    manifest = await run(generator, tmp_path / "out", repairs_asked=2, repairs=2)

    first, second = manifest.verification.versions[1:]
    assert first.base == second.base == 0  # neither repair beat the first answer
    configured = settings().role_settings["generator"]["temperature"]
    assert generator.temperatures == [configured, configured, configured + 0.3]
    assert (first.temperature, second.temperature) == (None, configured + 0.3)


async def test_the_generator_is_told_how_its_answer_will_be_checked(tmp_path: Path) -> None:
    told = Generator(FIXED)
    manifest = await run(told, tmp_path / "told", repairs=0, checklist=True)
    assert manifest.verification.checklist == "python"
    first = told.prompts[0]
    assert first.startswith(REQUEST) and "Plan: A Python script" in first
    assert "How it will be checked" in first and "exit with code 0" in first

    plain = Generator(FIXED)
    manifest = await run(plain, tmp_path / "plain", repairs=0)  # off by default
    assert manifest.verification.checklist is None
    assert "How it will be checked" not in plain.prompts[0]


def test_the_checklist_fits_the_judge_the_request_will_meet() -> None:
    game, judge = generation_prompt("build tetris", "One index.html.", checklist=True)
    assert judge == "game" and "ArrowLeft" in game and "setInterval" in game
    app_prompt, judge = generation_prompt("build a todo list web app", "", checklist=True)
    assert judge == "app" and app_prompt.startswith("build a todo list web app\n\nHow it will be checked")
    assert "clicking each button" in app_prompt
    # No judge can be named from the request: nothing is claimed about how it will be checked.
    assert generation_prompt("write a C program that sorts numbers", "", checklist=True) == (
        "write a C program that sorts numbers",
        None,
    )
    assert generation_prompt("build tetris", "", checklist=False) == ("build tetris", None)


def test_the_checklist_switch_reads_on_and_off() -> None:
    assert Settings.load({"CODECREW_CHECKLIST": "on"}).checklist is True
    assert Settings.load({}).checklist is False
    with pytest.raises(ConfigError, match="CODECREW_CHECKLIST must be on or off"):
        Settings.load({"CODECREW_CHECKLIST": "maybe"})


async def test_an_edit_answer_of_placeholder_files_is_a_failed_round(tmp_path: Path) -> None:
    """No SEARCH/REPLACE blocks: the whole-file fallback is held to the generator's rule."""
    placeholder = script("# ... rest of the code")
    manifest = await run(
        Generator(BROKEN, placeholder), tmp_path / "out", repairs_asked=1, repair_format="edit"
    )

    repair = manifest.verification.versions[1]
    assert repair.error is not None and repair.error.startswith("incomplete") and repair.verdict is None
    assert (tmp_path / "out" / "main.py").read_text() == "print(undefined_total)\n"
