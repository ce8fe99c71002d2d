"""How often the pipeline's files really work: single-shot, with repairs, with samples.

    .venv/bin/python -m bench.verified [--model local:qwen2.5-coder-1.5b] [--seeds 10]
        [--requests tetris,script,app] [--configs single,repairs,samples] [--limit N]
    .venv/bin/python -m bench.verified --slots        # do 2 requests at once beat 1 in tokens/s?

For each request, configuration and seed, one whole `run_pipeline` (every role on the
model, the generator's seed set to the seed), judged by the run's own verifier
(tools.verify). Configurations: `single` (no repairs, one sample), `repairs` (--repairs 2),
`samples` (--samples 3, no repairs); on request `edit` (--repairs 2 --repair-format edit),
to pick the repair format by measurement, and `checklist` (single-shot with --checklist: the
generator is told how its answer will be checked), to measure the checklist. Runs go
seed by seed. Prints per request and configuration the verified count, wall time, and
output tokens per verified result, and writes one JSON line per run to
reports/verified-<time>.jsonl (reports/ is gitignored), appended as each run ends so an
interrupted bench keeps what it measured; each run's output folder (files, manifest.json,
screenshot.png) is kept beside it, in reports/verified-<time>/<request>-<config>-seed<N>/.

`--slots` times the embedded server with one generator request, then with two at once
(different seeds), and prints the total output tokens per second of each: whether
`--samples` gets its candidates for free on the server's two slots.

Not a test: run it on an otherwise idle machine; `--limit 1` is a smoke test.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from pydantic_ai.settings import ModelSettings

from agents.config import Settings
from agents.models.build import build_model
from agents.pipeline import run_pipeline
from agents.progress import Reporter
from agents.prompts import load_prompt

REQUESTS = {
    "tetris": "build tetris",
    "script": "write a Python script that prints the first 20 prime numbers, one per line",
    "app": (
        "build a todo list web app: a text input and an Add button add an item, clicking an "
        "item marks it done, and a counter shows how many items are left"
    ),
}
CONFIGS: dict[str, dict[str, Any]] = {
    "checklist": {"repairs": 0, "samples": 1, "checklist": True},  # not in the default set
    "single": {"repairs": 0, "samples": 1},
    "repairs": {"repairs": 2, "samples": 1},
    "samples": {"repairs": 0, "samples": 3},
    "edit": {"repairs": 2, "samples": 1, "repair_format": "edit"},  # not in the default set
}
DEFAULT_CONFIGS = ("single", "repairs", "samples")
SAMPLE_SEEDS = 1000


@dataclass
class Tally:
    runs: int = 0
    verified: int = 0
    seconds: float = 0.0
    output_tokens: int = 0

    def line(self, name: str) -> str:
        per = (
            f"{self.seconds / self.verified:.0f} s, {self.output_tokens / self.verified:,.0f} tokens"
            if self.verified
            else "-"
        )
        return (
            f"{name:18s} verified {self.verified}/{self.runs}  wall {self.seconds:.0f} s  "
            f"out tokens {self.output_tokens:,}  per verified result: {per}"
        )


def generator_seed(config: str, seed: int) -> int:
    """The generator's seed for a run. A version's seed is this plus its index, so the K
    candidates of a `samples` run would be the first versions of single runs seed..seed+K-1;
    samples runs get seeds of their own (SAMPLE_SEEDS on, K apart) to be independent draws."""
    samples = int(CONFIGS[config]["samples"])
    return seed if samples == 1 else SAMPLE_SEEDS + (seed - 1) * samples


def settings_for(model: str, config: str, seed: int) -> Settings:
    settings = Settings.load({}).with_models(model)
    role_settings = dict(settings.role_settings)
    role_settings["generator"] = {**role_settings["generator"], "seed": generator_seed(config, seed)}
    return replace(settings, role_settings=role_settings, **CONFIGS[config])


async def one_run(
    model: str, request: str, config: str, seed: int, keep: Path | None = None
) -> dict[str, Any]:
    """One pipeline run; its output folder (the kept files, manifest.json, screenshot.png)
    is kept under `keep` when given."""
    settings = settings_for(model, config, seed)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = keep / f"{request}-{config}-seed{seed}" if keep else Path(tmp) / "out"
        manifest = await run_pipeline(
            REQUESTS[request], settings, out_dir, force=True, reporter=Reporter(), source="bench"
        )
    verification = manifest.verification
    verdict = verification.verdict
    return {
        "request": request,
        "config": config,
        "seed": seed,
        "model": model,
        "status": manifest.status,
        "error": manifest.error,
        "verdict": verdict.status if verdict else None,
        "checklist": verification.checklist,
        "summary": verdict.summary if verdict else None,
        "versions": [
            {
                "kind": v.kind,
                "seed": v.seed,
                "verdict": v.verdict.status if v.verdict else None,
                "score": v.verdict.score if v.verdict else None,
                "no_change": v.no_change,
                "cancelled": v.cancelled,
                "error": v.error,
                "output_tokens": v.output_tokens,
                "duration": round(v.duration, 1),
            }
            for v in verification.versions
        ],
        "kept": verification.kept,
        "wall": round(time.perf_counter() - started, 1),
        "output_tokens": sum(a.output_tokens for a in manifest.agents.values()),
        "input_tokens": sum(a.input_tokens for a in manifest.agents.values()),
    }


async def bench(
    model: str,
    requests: list[str],
    configs: list[str],
    seeds: int,
    limit: int | None,
    out: Path,
    first_seed: int = 1,
) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tallies: dict[str, Tally] = {}
    # seed by seed, so an interrupted bench has compared its configurations on the same seeds
    runs = [(r, c, s) for s in range(first_seed, first_seed + seeds) for r in requests for c in configs]
    for request, config, seed in runs[:limit]:
        row = await one_run(model, request, config, seed, keep=out.with_suffix(""))
        with out.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        tally = tallies.setdefault(f"{request}/{config}", Tally())
        tally.runs += 1
        tally.verified += row["verdict"] == "verified"
        tally.seconds += row["wall"]
        tally.output_tokens += row["output_tokens"]
        print(
            f"{request}/{config} seed {seed}: {row['summary'] or row['error']} ({row['wall']} s)", flush=True
        )
    print()
    for name, tally in tallies.items():
        print(tally.line(name))
    print(f"\nJSON lines: {out}")


async def slots(model: str, max_tokens: int) -> None:
    """Total output tokens/s of one generator request alone, then of two at once.

    Plain model requests (the generator's system prompt and "build tetris"), not `generate`:
    its lazy-output rewrites would add requests to one side only."""
    from pydantic_ai.direct import model_request
    from pydantic_ai.messages import ModelRequest, SystemPromptPart, UserPromptPart

    settings = Settings.load({}).with_models(model)
    generator = build_model(model, settings)
    base: dict[str, Any] = dict(settings.role_settings["generator"])
    messages = [
        ModelRequest(parts=[SystemPromptPart(load_prompt("generator")), UserPromptPart(REQUESTS["tetris"])])
    ]

    async def ask(seed: int) -> int:
        response = await model_request(
            generator,
            list(messages),
            model_settings=ModelSettings(**{**base, "seed": seed, "max_tokens": max_tokens}),  # type: ignore[typeddict-item]
        )
        return response.usage.output_tokens

    await ask(0)  # warm-up: the server start and the prompt cache are not what we measure
    started = time.perf_counter()
    alone = await ask(1)
    one = time.perf_counter() - started
    started = time.perf_counter()
    pair = await asyncio.gather(ask(2), ask(3))
    two = time.perf_counter() - started
    print(f"one request : {alone} tokens in {one:.1f} s = {alone / one:.1f} tok/s")
    print(f"two at once : {sum(pair)} tokens in {two:.1f} s = {sum(pair) / two:.1f} tok/s in total")


def main(
    model: str = typer.Option("local:qwen2.5-coder-1.5b", help="Model string for every role."),
    seeds: int = typer.Option(10, min=1, help="Seeds per request and configuration."),
    first_seed: int = typer.Option(1, min=1, help="The first seed (to add seeds to an earlier bench)."),
    requests: str = typer.Option(",".join(REQUESTS), help=f"Which requests: {', '.join(REQUESTS)}."),
    configs: str = typer.Option(
        ",".join(DEFAULT_CONFIGS),
        help=f"Which configurations: {', '.join(CONFIGS)} (edit: --repair-format edit; checklist: on).",
    ),
    limit: int | None = typer.Option(None, min=1, help="At most this many runs in all (a smoke test)."),
    out: Path | None = typer.Option(None, help="JSON lines file (default reports/verified-<time>.jsonl)."),
    slot_test: bool = typer.Option(False, "--slots", help="Measure 1 vs 2 concurrent requests instead."),
    slot_tokens: int = typer.Option(400, help="--slots: max tokens per request."),
) -> None:
    from agents.local.server import stop_all_servers

    chosen = [r.strip() for r in requests.split(",") if r.strip()]
    chosen_configs = [c.strip() for c in configs.split(",") if c.strip()]
    unknown = [x for x in chosen if x not in REQUESTS] + [x for x in chosen_configs if x not in CONFIGS]
    if unknown:
        typer.echo(f"error: unknown request or configuration: {', '.join(unknown)}", err=True)
        raise typer.Exit(2)
    target = out or Path("reports") / f"verified-{datetime.now():%Y%m%d-%H%M%S}.jsonl"
    try:
        if slot_test:
            asyncio.run(slots(model, slot_tokens))
        else:
            asyncio.run(bench(model, chosen, chosen_configs, seeds, limit, target, first_seed))
    finally:
        stop_all_servers()


if __name__ == "__main__":
    typer.run(main)
