"""The manifest: what each model did in one run, how long, how many tokens, what it cost.

Written next to the generated files as `manifest.json`, printed by `--json`, and read by
the eval harness. Usage per agent comes from the model responses of that agent's own
runs, so the numbers add up to the run total that pydantic-ai keeps across agents.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_ai.messages import ModelMessage, ModelResponse, ToolCallPart

Role = Literal["coordinator", "generator", "extractor"]
ROLES: tuple[Role, ...] = ("coordinator", "generator", "extractor")
Status = Literal["running", "ok", "lazy", "error"]


class AgentUsage(BaseModel):
    """One agent's share of the run."""

    model: str
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cost: float | None = None
    duration: float = 0.0
    answered_by: list[str] = Field(default_factory=list)  # model names that really answered
    tool_calls: list[str] = Field(default_factory=list)  # tools the model called, in order
    note: str | None = None  # e.g. why the extractor was not needed

    def add_messages(self, messages: list[ModelMessage], duration: float) -> None:
        """Add the usage of the responses in `messages` (one run of this agent)."""
        for message in messages:
            if not isinstance(message, ModelResponse):
                continue
            self.requests += 1
            self.input_tokens += message.usage.input_tokens
            self.output_tokens += message.usage.output_tokens
            self.cache_read_tokens += message.usage.cache_read_tokens
            self.tool_calls += [p.tool_name for p in message.parts if isinstance(p, ToolCallPart)]
            if message.model_name and message.model_name not in self.answered_by:
                self.answered_by.append(message.model_name)
            if message.usage.cost is not None:  # pydantic-ai prices it with genai-prices
                self.cost = (self.cost or 0.0) + float(message.usage.cost)
        self.duration += duration


class FileRecord(BaseModel):
    name: str
    bytes: int
    sha256: str
    language: str | None = None


class CheckRecord(BaseModel):
    name: str
    passed: bool
    detail: str


class LazyRecord(BaseModel):
    lazy: bool = False
    rewrites: int = 0  # how many times the generator was sent back
    placeholders: list[str] = Field(default_factory=list)


class RunTotals(BaseModel):
    """pydantic-ai's own count for the whole run (sub-agents add into it via usage=ctx.usage)."""

    requests: int = 0
    tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


class Manifest(BaseModel):
    request: str
    run_id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    task_type: str | None = None
    route: str | None = None  # why these models were picked (--route / --ab)
    spec: str | None = None  # what the coordinator asked the generator for
    status: Status = "running"
    error: str | None = None
    error_class: str | None = None
    failed_role: str | None = None
    started: datetime = Field(default_factory=lambda: datetime.now(UTC))
    duration: float = 0.0
    out_dir: str = ""
    agents: dict[Role, AgentUsage] = Field(default_factory=dict)
    totals: RunTotals = Field(default_factory=RunTotals)
    files: list[FileRecord] = Field(default_factory=list)
    checks: list[CheckRecord] = Field(default_factory=list)
    lazy: LazyRecord = Field(default_factory=LazyRecord)
    layout: str | None = None  # how blocks became files

    @property
    def total_requests(self) -> int:
        return sum(agent.requests for agent in self.agents.values())

    @property
    def total_cost(self) -> float | None:
        costs = [a.cost for a in self.agents.values() if a.cost is not None]
        return sum(costs) if costs else None

    def write(self, out_dir: Path) -> Path:
        """Write manifest.json atomically, so a crash never leaves half a manifest."""
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "manifest.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
        return path
