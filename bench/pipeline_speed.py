"""How much the pipeline costs on top of its generator, on the embedded model.

    .venv/bin/python -m bench.pipeline_speed [--model local:qwen2.5-coder-1.5b] [--request "build tetris"]

In one process and on one shared server, it times: the server start, one direct call
of the generator agent with the request (the floor: the generator's own tokens), and the
whole pipeline for the same request, split by agent. Prints the figures for the README.
Not a test: timings depend on the machine and on how long an answer the model writes.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import typer

from agents.config import Settings
from agents.generator import generate
from agents.local.server import parse_local_model, shared_server, stop_all_servers
from agents.models.build import build_model
from agents.pipeline import run_pipeline


def tokens_per_second(tokens: int, seconds: float) -> float:
    return tokens / seconds if seconds else 0.0


async def measure(model: str, request: str) -> None:
    settings = Settings.load({}).with_models(model)
    started = time.perf_counter()
    if model.startswith("local:"):
        shared_server(parse_local_model(model))
    print(f"server start (to /health, weights cached): {time.perf_counter() - started:.1f} s")

    generator = build_model(model, settings)
    direct = await generate(request, generator, model_settings=settings.role_settings["generator"])
    out = direct.usage.output_tokens
    print(
        f"direct generator call: {direct.duration:.1f} s, {direct.usage.requests} requests, "
        f"{direct.usage.input_tokens} in / {out} out tokens, "
        f"{tokens_per_second(out, direct.duration):.1f} output tok/s"
    )

    with tempfile.TemporaryDirectory() as tmp:
        manifest = await run_pipeline(request, settings, Path(tmp) / "out")
    print(f"pipeline: {manifest.duration:.1f} s, status {manifest.status} {manifest.error or ''}")
    for role, agent in manifest.agents.items():
        print(
            f"  {role:11s} {agent.duration:6.1f} s  {agent.requests} requests  "
            f"{agent.input_tokens} in ({agent.cache_read_tokens} cached) / {agent.output_tokens} out"
        )
    gen = manifest.agents["generator"]
    overhead = manifest.duration - gen.duration
    print(f"pipeline / direct wall time: {manifest.duration / direct.duration:.2f}")
    print(
        f"pipeline overhead beyond its own generator: {overhead:.1f} s "
        f"= {manifest.duration / gen.duration:.2f} x the generator's time"
    )
    # Both runs write different answers, so also compare per generated token.
    if gen.output_tokens and out:
        per_token = (manifest.duration / gen.output_tokens) / (direct.duration / out)
        print(f"pipeline / direct, per generated token: {per_token:.2f}")


def main(
    model: str = typer.Option("local:qwen2.5-coder-1.5b", help="Model string for every role."),
    request: str = typer.Option("build tetris", help="The request to time."),
) -> None:
    try:
        asyncio.run(measure(model, request))
    finally:
        stop_all_servers()


if __name__ == "__main__":
    typer.run(main)
