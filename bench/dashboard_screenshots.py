"""Screenshots of the dashboard's pages for the README (docs/screenshots/*.png).

    python -m bench.dashboard_screenshots [--out docs/screenshots]

Everything runs offline in a temporary folder: two HumanEval eval runs of three scripted
models (pydantic-ai FunctionModels: one always right; one right on every other task, the
even ones in the first run and the odd ones in the second; one that always returns None),
recorded in a private history like `python -m evals.run` records them, then each page
opened in Debian's Chromium. PNGs are reduced to a 64-colour palette (Pillow, which
matplotlib brings) so each stays well under 150 KB.
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import threading
import time
from pathlib import Path

DEMO_MODELS = ("demo:always-right", "demo:every-other", "demo:returns-none")
PAGES = {
    "leaderboard": "/",
    "runs": "/runs",
    "run": "/runs/{run}",
    "case": "/runs/{run}/case?suite=humaneval&model=demo%3Areturns-none&mode=generator&case=HumanEval_1",
    "compare": "/compare?a=demo%3Aalways-right&b=demo%3Aevery-other",
    "model": "/model?name=demo%3Aevery-other",
    "runs_compare": "/runs/compare?a={first}&b={run}",
}


def scripted(spec: str, second_run: bool = False) -> object:
    from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
    from pydantic_ai.models.function import AgentInfo, FunctionModel

    from evals import humaneval

    problems = humaneval.load_problems()

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        prompt = str(getattr(messages[0].parts[-1], "content", ""))
        problem = next(p for p in problems if p["prompt"].strip() in prompt)
        number = int(problem["task_id"].split("/")[1])
        right = spec == DEMO_MODELS[0] or (spec == DEMO_MODELS[1] and number % 2 == int(second_run))
        body = problem["canonical_solution"] if right else "    return None\n"
        return ModelResponse(parts=[TextPart(f"```python\n{problem['prompt']}{body}```")])

    return FunctionModel(respond)


def record_runs(reports: Path) -> list[str]:
    """Two eval runs of the demo models; their ids, oldest first."""
    from rich.console import Console

    from evals.run import run_eval
    from evals.tasks import TaskFactory

    quiet = Console(file=open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the script
    for limit, second_run in ((4, False), (6, True)):
        factory = TaskFactory(reports, builder=functools.partial(scripted, second_run=second_run))  # type: ignore[arg-type]
        run_eval(list(DEMO_MODELS), ["humaneval"], ["generator"], limit=limit, report_dir=reports,
                 factory=factory, console=quiet)  # fmt: skip
        time.sleep(1.1)  # run ids are stamped to the second
    return sorted(p.name for p in reports.iterdir())


def shrink(path: Path) -> None:
    from PIL import Image

    with Image.open(path) as image:
        image.convert("RGB").quantize(colors=64).save(path, optimize=True)


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    import uvicorn
    from playwright.sync_api import sync_playwright

    from evals.serve.app import create_app
    from evals.serve.cli import bind_socket
    from tools.browser.chromium import LAUNCH_ARGS, browser_available

    work = Path(tempfile.mkdtemp(prefix="codecrew-screens-"))
    os.environ["CODECREW_HISTORY"] = str(work / "history.sqlite")
    reports = work / "reports"
    first, run = record_runs(reports)
    sock = bind_socket("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(create_app(reports_dir=reports), log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_available(), args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 760})
        for name, url in PAGES.items():
            page.goto(base + url.format(run=run, first=first))
            target = args.out / f"{name}.png"
            page.screenshot(path=str(target), full_page=True)
            shrink(target)
            print(f"{target}\t{target.stat().st_size / 1000:.0f} KB")
        browser.close()
    server.should_exit = True


if __name__ == "__main__":
    main()
