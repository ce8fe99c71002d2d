"""Does a small model fix a page that throws when shown only the code around the error?

    .venv/bin/python -m bench.function_repair reports/s6-tetris-samples/*/ [--rounds 3]

An experiment on output folders kept by `bench.verified` (or any folder with a page). Each
page is judged by the run's own verifier (tools.verify); while it throws on load at a known
place (`file:line`), the model gets the error, the line, and the innermost block around it
(at most MAX_LINES lines, found by brace depth), and writes that block again; the answer
replaces the block and the page is judged again. Up to `--rounds` rounds, another seed each.
Whole-file repairs are what the pipeline does; this measures whether a narrower question,
with a tenth of the prompt and answer, gets further on the embedded 1.5B.

Works on copies (the folders are not changed). Prints a line per round and the scores
before and after; writes the rows as JSON to reports/function-repair-<time>.json.
Not a test: run it on an otherwise idle machine.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from pydantic_ai.direct import model_request
from pydantic_ai.messages import ModelRequest, SystemPromptPart, TextPart, UserPromptPart
from pydantic_ai.settings import ModelSettings

from agents.config import Settings
from agents.models.build import build_model
from agents.prompts import load_prompt
from tools.browser import BrowserSession
from tools.verify import verify_files

MAX_LINES = 60
PLACE = re.compile(r"@ (?P<file>[^\s@]+):(?P<line>\d+):\d+")
BLOCK = re.compile(r"```[\w+-]*\n(.*?)```", re.S)
PAGE_SUFFIXES = (".html", ".js", ".css")


def line_depths(text: str) -> list[int]:
    """The bracket depth ({ and ( together) at the start of each line; strings and comments
    skipped (regular expression literals are not: a rough measure for an experiment)."""
    depths, depth, mode, i = [0], 0, "", 0
    while i < len(text):
        char = text[i]
        if char == "\n":
            mode = "" if mode == "//" else mode
            depths.append(depth)
        elif mode == "":
            if text.startswith(("//", "/*"), i):
                mode, i = text[i : i + 2], i + 2
                continue
            if char in "'\"`":
                mode = char
            elif char in "{(":
                depth += 1
            elif char in "})":
                depth = max(0, depth - 1)
        elif mode == "/*":
            if text.startswith("*/", i):
                mode, i = "", i + 2
                continue
        elif mode in "'\"`":
            if char == "\\":
                i += 2
                continue
            if char == mode:
                mode = ""
        i += 1
    return depths


def block_around(lines: list[str], depths: list[int], at: int) -> tuple[int, int]:
    """(first, last) line indexes of the outermost block around line `at` of at most
    MAX_LINES lines (else the innermost one found)."""
    found = (at, at)
    for depth in range(6):
        first = at
        while first > 0 and not (
            depths[first] == depth
            and lines[first].strip()
            and not lines[first].lstrip().startswith(("}", ")"))
        ):
            first -= 1
        if depths[first] != depth:
            break
        last = at
        while last + 1 < len(lines) and depths[last + 1] > depth:
            last += 1
        if (
            last + 1 < len(lines)
            and depths[last + 1] == depth
            and lines[last + 1].lstrip().startswith(("}", ")"))
        ):
            last += 1  # the block's closing line
        found = (first, last)
        if last - first + 1 <= MAX_LINES:
            break
    return found


async def repair_page(
    source: Path, model: Any, settings: dict[str, Any], browser: BrowserSession, rounds: int, seed: int
) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="function-repair-")) / source.name
    shutil.copytree(source, work, ignore=shutil.ignore_patterns("manifest.json", "*.png"))
    names = sorted(p.name for p in work.iterdir() if p.suffix in PAGE_SUFFIXES)
    verdict = await verify_files(work, names, request="build tetris", browser=browser)
    row: dict[str, Any] = {"page": str(source), "before": verdict.score, "rounds": []}
    for number in range(rounds):
        loads = next((c for c in verdict.checks if c.name == "loads"), None)
        place = PLACE.search(loads.detail) if loads else None
        if loads is None or loads.passed or place is None or not (work / place["file"]).is_file():
            break
        name, at = place["file"], int(place["line"]) - 1
        lines = (work / name).read_text().split("\n")
        if at >= len(lines):
            break
        first, last = block_around(lines, line_depths("\n".join(lines)), at)
        block = "\n".join(lines[first : last + 1])
        error = loads.detail.split("\n")[0].split("first: ")[-1]
        language = "html" if name.endswith(".html") else "javascript"
        prompt = (
            f"build tetris\n\nThe page you wrote throws an error when it loads:\n{error}\n"
            f"It is thrown at {name} line {at + 1}: `{lines[at].strip()}`\n\n"
            f"This is the part of {name} where it happens (lines {first + 1}-{last + 1}):\n\n"
            f"```{language}\n{block}\n```\n\n"
            f"Rewrite this part so that it no longer throws and still does its job. Write the "
            f"whole part, corrected, in one ```{language} block and nothing else."
        )
        started = time.perf_counter()
        response = await model_request(
            model,
            [ModelRequest(parts=[SystemPromptPart(load_prompt("generator")), UserPromptPart(prompt)])],
            model_settings=ModelSettings(
                **{**settings, "seed": seed + number, "max_tokens": min(2000, 40 + len(block) // 2)}  # type: ignore[typeddict-item]
            ),
        )
        answer = "".join(part.content for part in response.parts if isinstance(part, TextPart))
        step: dict[str, Any] = {
            "error": error,
            "block_lines": last - first + 1,
            "output_tokens": response.usage.output_tokens,
            "seconds": round(time.perf_counter() - started, 1),
        }
        row["rounds"].append(step)
        written = BLOCK.findall(answer)
        if not written:
            step["outcome"] = "no code block"
            break
        new = written[0].rstrip("\n")
        step["same"] = new.strip() == block.strip()
        lines[first : last + 1] = new.split("\n")
        (work / name).write_text("\n".join(lines))
        verdict = await verify_files(work, names, request="build tetris", browser=browser)
        step["score"], step["outcome"] = verdict.score, verdict.reason
        print(
            f"  round {number + 1}: {error[:60]} | {step['block_lines']} lines"
            f"{' (the same again)' if step['same'] else ''} | {step['output_tokens']} tokens, "
            f"{step['seconds']} s | score {verdict.score:.2f}",
            flush=True,
        )
    row.update(after=verdict.score, status=verdict.status, copy=str(work))
    return row


async def bench(pages: list[Path], model_name: str, rounds: int, seed: int, out: Path) -> None:
    settings = Settings.load({}).with_models(model_name)
    model = build_model(model_name, settings)
    browser = BrowserSession()
    rows = []
    try:
        for page in pages:
            row = await repair_page(
                page, model, dict(settings.role_settings["generator"]), browser, rounds, seed
            )
            rows.append(row)
            print(f"{page}: {row['before']:.2f} -> {row['after']:.2f} ({row['status']})", flush=True)
    finally:
        browser.close()
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(rows, indent=1))
    asked = [step for row in rows for step in row["rounds"]]
    print(
        f"\n{len(rows)} pages, {sum(1 for r in rows if r['rounds'])} repaired: {len(asked)} rounds, "
        f"{sum(1 for s in asked if s.get('same'))} wrote the same block again; "
        f"{sum(1 for r in rows if r['after'] > r['before'])} pages scored higher, "
        f"{sum(1 for r in rows if r['status'] == 'verified')} verified. "
        f"{sum(s['output_tokens'] for s in asked)} output tokens, "
        f"{sum(s['seconds'] for s in asked):.0f} s.\nJSON: {out}"
    )


def main(
    pages: list[Path] = typer.Argument(..., help="Folders with a page (index.html and its files)."),
    model: str = typer.Option("local:qwen2.5-coder-1.5b", help="The model that repairs."),
    rounds: int = typer.Option(3, min=1, help="Rounds per page at most."),
    seed: int = typer.Option(7, help="The first round's seed; each round adds one."),
) -> None:
    from agents.local.server import stop_all_servers

    out = Path("reports") / f"function-repair-{datetime.now():%Y%m%d-%H%M%S}.json"
    try:
        asyncio.run(bench([p for p in pages if (p / "index.html").is_file()], model, rounds, seed, out))
    finally:
        stop_all_servers()


if __name__ == "__main__":
    typer.run(main)
