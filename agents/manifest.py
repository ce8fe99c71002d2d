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
# "not_working": files were written but fail verification (the verdict says why).
Status = Literal["running", "ok", "not_working", "lazy", "error", "interrupted"]
VersionKind = Literal["generate", "sample", "repair"]


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

    def answered_model(self) -> str:
        """The model string that answered: for a chain, the member whose name the provider
        gave back (or that name as is); "not asked" when no model of a chain answered."""
        chain = [m.strip() for m in self.model.split(",") if m.strip()]
        if len(chain) == 1 and chain != ["auto"]:
            return self.model
        if not self.answered_by:
            return f"not asked ({len(chain)} in the chain)" if chain != ["auto"] else "not asked (auto)"
        shown = []
        for name in self.answered_by:
            match = next((m for m in chain if m.partition(":")[2] == name or m == name), None)
            shown.append(match or name)
        return ", ".join(dict.fromkeys(shown))

    def merge(self, other: AgentUsage) -> None:
        """Add another run's usage of the same role (a sample, a repair round)."""
        self.requests += other.requests
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.tool_calls += other.tool_calls
        self.answered_by += [m for m in other.answered_by if m not in self.answered_by]
        if other.cost is not None:
            self.cost = (self.cost or 0.0) + other.cost
        self.duration += other.duration


class FileRecord(BaseModel):
    name: str
    bytes: int
    sha256: str
    language: str | None = None


class CheckRecord(BaseModel):
    name: str
    passed: bool
    detail: str
    output: str | None = None  # what the program printed first: for the user, checked by no judge


class VerdictRecord(BaseModel):
    """A judge's verdict on one version of the files (tools.verify.Verdict, as data)."""

    status: str  # verified / failed / not_verified / infrastructure
    judge: str
    score: float  # fraction of checks passed
    summary: str  # the one line a user reads
    reason: str
    checks: list[CheckRecord] = Field(default_factory=list)  # every check with its evidence
    screenshot: str | None = None


class VersionRecord(BaseModel):
    """One version of the files: the first answer, a sample, or a repair round."""

    index: int  # 0, 1, 2... in the order they were made
    kind: VersionKind
    seed: int | None = None
    temperature: float | None = None  # repairs: raised when the same files were asked again
    base: int | None = None  # repairs: the version that was repaired
    repair_format: str | None = None  # repairs: "whole" or "edit"
    notes: str | None = None  # repairs: what the coordinator asked to fix
    files: list[FileRecord] = Field(default_factory=list)
    verdict: VerdictRecord | None = None
    no_change: bool = False  # a repair that returned the same files (not verified again)
    error: str | None = None  # no code, lazy, an edit that did not apply...
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    duration: float = 0.0  # generation + extraction + verification
    verify_duration: float = 0.0
    cancelled: bool = False  # samples: stopped because another one was verified first


class VerificationRecord(BaseModel):
    """What was run to know whether the files work, and which version the user got."""

    repairs_allowed: int = 0
    samples: int = 1
    repair_format: str = "whole"
    checklist: str | None = None  # which "how it will be checked" text the generator got, if any
    versions: list[VersionRecord] = Field(default_factory=list)
    repairs_used: int = 0
    kept: int | None = None  # index of the version in the output folder
    kept_reason: str | None = None
    verdict: VerdictRecord | None = None  # the kept version's verdict: the run's final word


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
    static_checks: list[CheckRecord] = Field(default_factory=list)  # syntax and references: nothing run
    verification: VerificationRecord = Field(default_factory=VerificationRecord)
    lazy: LazyRecord = Field(default_factory=LazyRecord)
    layout: str | None = None  # how blocks became files
    saved_to: str | None = None  # where answer and manifest went when out_dir could not be written
    sandbox_warning: str | None = None  # the sandbox in force is weaker than bwrap: what that costs

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
