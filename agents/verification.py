"""Verify, repair, sample: the loop that turns a first answer into files that run.

Every version of the files (the first answer, each of `--samples` candidates, each repair
round) is written to a private staging folder and judged there by tools.verify (the judge
that fits the files: the sandbox for scripts, Chromium for pages). The best version seen
by verdict score (ties: the earlier) is the one in the output folder, rewritten whenever
a better one arrives, so a repair that makes things worse is never what the user gets.

A repair asks the generator afresh: a new conversation with the original request, the
judge's findings, the current files, and "write the complete corrected files" (or, with
`repair_format="edit"`, SEARCH/REPLACE blocks: tools/edits.py), with another seed each
round and a token budget near the size of the files. Measured on the embedded 1.5B:
continuing the chat makes it repeat its answer byte for byte. A repair that returns the
same files as an earlier version is a failed round, found without running them again.
The number of repairs is capped by `Settings.repairs` whatever the coordinator asks.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from pydantic_ai.models import Model
from pydantic_ai.settings import ModelSettings
from pydantic_ai.usage import RunUsage, UsageLimits

from agents.config import Settings
from agents.editor import ask_for_edits
from agents.extractor import choose_layout
from agents.generator import Generation, generate
from agents.manifest import (
    AgentUsage,
    CheckRecord,
    FileRecord,
    Manifest,
    VerdictRecord,
    VersionKind,
    VersionRecord,
)
from agents.progress import Reporter
from agents.prompts import load_prompt
from tools.checks import check_files
from tools.edits import EditError, apply_edits, has_edit_blocks, parse_edits
from tools.extract import ExtractedFile, NoCodeError, language_of_name
from tools.extract import extract_files as extract_from_answer
from tools.files import UnsafePathError
from tools.files import write_files as write_safely
from tools.lazy import lazy_verdict
from tools.verify import Check, Verdict, expected_judge, verify_files

VerifyFn = Callable[..., Awaitable[Verdict]]
VERIFY_TIMEOUT = 60.0  # seconds the judge may take for one version
POINTLESS_CALLS = 2  # refused calls (repair past the cap, write_files again) before the run ends
CHARS_PER_TOKEN = 3.0  # code, on the tokenizers we use: a little under 3.5, rounded down
REPAIR_HEAT = 0.3  # temperature added each time the same version is repaired again
MAX_REPAIR_TEMPERATURE = 1.0


class LazyOutputError(RuntimeError):
    """The generator stayed lazy after its rewrites."""

    error_class = "lazy_output"


class LoopFinished(Exception):  # not an error: the coordinator is done
    """The coordinator asked for a repair after being told there are none left: the run ends."""


def repair_budget(files: list[ExtractedFile], configured: int | None) -> int:
    """max_tokens for a repair: the size of the files plus room to grow, within the setting."""
    chars = sum(len(f.content) for f in files)
    budget = int(chars / CHARS_PER_TOKEN * 1.3) + 256
    return min(budget, configured) if configured else budget


def generation_prompt(request: str, spec: str, *, checklist: bool) -> tuple[str, str | None]:
    """The generator's first prompt (the user's words first: a small coordinator's spec can
    lose the point), then the coordinator's plan, then how the answer will be checked when
    the request says which judge it will meet. Returns the prompt and that judge's name."""
    prompt = f"{request}\n\nPlan: {spec}" if spec.strip() else request
    judge = expected_judge(request) if checklist else None
    if judge is None:
        return prompt, None
    return f"{prompt}\n\n{load_prompt(f'checks_{judge}')}", judge


def format_files(files: list[ExtractedFile]) -> str:
    fence = "```"
    return "\n\n".join(
        f"### {f.name}\n{fence}{f.language or ''}\n{f.content.rstrip()}\n{fence}" for f in files
    )


def repair_prompt(
    request: str, verdict: Verdict, files: list[ExtractedFile], notes: str, repair_format: str
) -> str:
    """The one user turn of a fresh repair conversation."""
    template = load_prompt("repair_edit" if repair_format == "edit" else "repair")
    notes = notes.strip()
    return template.format(
        request=request,
        evidence=verdict.evidence(),
        notes=f"\nWhat to fix first: {notes}\n" if notes else "",
        files=format_files(files),
    )


def verdict_record(verdict: Verdict) -> VerdictRecord:
    return VerdictRecord(
        status=verdict.status,
        judge=verdict.judge,
        score=verdict.score,
        summary=verdict.summary(),
        reason=verdict.reason,
        checks=[CheckRecord.model_validate(c, from_attributes=True) for c in verdict.checks],
        screenshot=verdict.screenshot,
    )


@dataclass
class Version:
    """One version of the files and what the judge said of it."""

    record: VersionRecord
    text: str = ""
    files: list[ExtractedFile] = field(default_factory=list)
    verdict: Verdict | None = None

    @property
    def score(self) -> float:
        return self.verdict.score if self.verdict is not None else -1.0

    @property
    def contents(self) -> dict[str, str]:
        return {f.name: f.content for f in self.files}


@dataclass
class RunSetup:
    """What one run is given: the request, settings and models, where it writes, how it reports."""

    request: str
    settings: Settings
    models: dict[str, Model]
    manifest: Manifest
    out_dir: Path
    force: bool = False
    reporter: Reporter = field(default_factory=Reporter)
    usage_limits: UsageLimits | None = None

    def setup(self) -> dict[str, Any]:
        """These fields by name (the same objects), to hand this run's setup on."""
        return {f.name: getattr(self, f.name) for f in fields(RunSetup)}


@dataclass
class RepairLoop(RunSetup):
    """The versions of one run, the one kept, and the operations that make new ones."""

    verify: VerifyFn = verify_files
    versions: list[Version] = field(default_factory=list)
    kept: Version | None = None
    refusals: int = 0
    owned: list[str] = field(default_factory=list)  # names this run wrote into out_dir
    staging: Path | None = None

    def __post_init__(self) -> None:
        record = self.manifest.verification
        record.repairs_allowed = self.settings.repairs
        record.samples = self.settings.samples
        record.repair_format = self.settings.repair_format

    # --- state --------------------------------------------------------------------------

    @property
    def repairs_used(self) -> int:
        return sum(1 for v in self.versions if v.record.kind == "repair")

    @property
    def repairs_left(self) -> int:
        return max(self.settings.repairs - self.repairs_used, 0)

    @property
    def verdict(self) -> Verdict | None:
        return self.kept.verdict if self.kept else None

    def seed(self, index: int) -> int:
        """A different seed for every version: the configured one, then +1, +2..."""
        base = self.settings.role_settings["generator"].get("seed")
        return (base if isinstance(base, int) else 7) + index

    def generator_settings(
        self, seed: int, max_tokens: int | None = None, temperature: float | None = None
    ) -> ModelSettings:
        merged: dict[str, Any] = dict(self.settings.role_settings["generator"])
        merged["seed"] = seed
        if max_tokens is not None:
            merged["max_tokens"] = max_tokens
        if temperature is not None:
            merged["temperature"] = temperature
        return ModelSettings(**merged)  # type: ignore[typeddict-item]

    def repair_temperature(self, base: Version) -> float | None:
        """Hotter each time the same version is sent back: with the same files and findings,
        the 1.5B at 0.2 wrote the same repair again under another seed (measured: both second
        repairs of two Tetris runs were "the same files as version 1")."""
        again = sum(
            1 for v in self.versions if v.record.kind == "repair" and v.record.base == base.record.index
        )
        configured = self.settings.role_settings["generator"].get("temperature")
        if again <= 1 or configured is None:  # this version's own record is already counted
            return None
        return round(min(float(configured) + REPAIR_HEAT * (again - 1), MAX_REPAIR_TEMPERATURE), 2)

    def new_version(self, kind: VersionKind, **fields: Any) -> Version:
        index = len(self.manifest.verification.versions)
        record = VersionRecord(index=index, kind=kind, seed=self.seed(index), **fields)
        self.manifest.verification.versions.append(record)
        version = Version(record)
        self.versions.append(version)
        return version

    def charge(self, version: Version, part: AgentUsage) -> None:
        """A version's generator usage goes into its record and the run's generator total."""
        self.manifest.agents["generator"].merge(part)
        version.record.requests += part.requests
        version.record.input_tokens += part.input_tokens
        version.record.output_tokens += part.output_tokens

    # --- making files ---------------------------------------------------------------------

    async def extract(self, text: str, usage: RunUsage | None) -> list[ExtractedFile]:
        """The answer's files: deterministic, or laid out by the extractor agent when ambiguous."""
        extraction = extract_from_answer(text)
        record = self.manifest.agents["extractor"]
        if not extraction.ambiguous:
            if not record.requests:
                record.note = "not needed: the layout was unambiguous"
            self.manifest.layout = self.manifest.layout or extraction.reason
            return extraction.files
        role = "extractor"
        self.reporter.stage(role, self.settings.model_for(role), "choosing the file layout")
        files = await choose_layout(
            self.request,
            extraction.blocks,
            self.models[role],
            record=record,
            model_settings=self.settings.role_settings[role],
            usage=usage,
            usage_limits=self.usage_limits,
        )
        record.note = None
        self.manifest.layout = f"chosen by the extractor agent: {extraction.reason}"
        return files

    async def accept(self, version: Version, text: str, files: list[ExtractedFile]) -> Version:
        """Judge a new version (unless it repeats an earlier one) and keep it if it is the best."""
        version.text, version.files = text, files
        started = time.perf_counter()
        same = next(
            (v for v in self.versions if v is not version and v.files and v.contents == version.contents),
            None,
        )
        if same is not None and same.verdict is not None:
            version.record.no_change = True
            version.verdict = same.verdict
            version.record.error = f"the same files as version {same.record.index}: not run again"
        else:
            version.verdict = await self.judge(version)
        version.record.verdict = verdict_record(version.verdict)
        version.record.verify_duration = time.perf_counter() - started
        # ties go to the earlier version (samples finish in any order: the lower index)
        if self.kept is None or (version.score, -version.record.index) > (
            self.kept.score,
            -self.kept.record.index,
        ):
            self.keep(version)
        return version

    async def judge(self, version: Version) -> Verdict:
        """Write the version to its staging folder and run it there."""
        if self.staging is None:
            self.staging = Path(tempfile.mkdtemp(prefix="codecrew-verify-"))
        folder = self.staging / f"v{version.record.index}"
        self.reporter.stage("verifier", "tools.verify", f"running version {version.record.index}")
        try:
            written = write_safely(folder, version.files, force=True)
        except (UnsafePathError, OSError) as exc:
            verdict = Verdict(
                "failed", "files", (Check("files", False, str(exc)),), "a file cannot be written"
            )
        else:
            version.record.files = [
                FileRecord(name=w.name, bytes=w.bytes, sha256=w.sha256, language=language_of_name(w.name))
                for w in written
            ]
            try:
                verdict = await self.verify(
                    folder,
                    [w.name for w in written],
                    request=self.request,
                    screenshot=folder / "screenshot.png",
                    timeout=VERIFY_TIMEOUT,
                )
            except Exception as exc:  # a judge that breaks is not the model's fault
                verdict = Verdict("infrastructure", "none", (), f"the judge could not run: {exc}")
        self.reporter.done("verifier", f"version {version.record.index}: {verdict.summary()}")
        return verdict

    def keep(self, version: Version) -> None:
        """Put `version` into the output folder in place of the one kept before."""
        for name in self.owned:
            (self.out_dir / name).unlink(missing_ok=True)
        written = write_safely(self.out_dir, version.files, force=self.force or bool(self.owned))
        self.owned = [w.name for w in written]
        languages = {f.name: f.language for f in version.files}
        self.manifest.files = [
            FileRecord(name=w.name, bytes=w.bytes, sha256=w.sha256, language=languages.get(w.name))
            for w in written
        ]
        static = check_files(version.files)
        self.manifest.static_checks = [CheckRecord.model_validate(c, from_attributes=True) for c in static]
        self.kept = version

    # --- samples ------------------------------------------------------------------------

    async def sample(self, prompt: str, usage: RunUsage | None) -> Version:
        """`settings.samples` candidates at once; the first verified one stops the others."""
        versions = [self.new_version("sample") for _ in range(self.settings.samples)]
        tasks = {asyncio.create_task(self.candidate(v, prompt, usage)): v for v in versions}
        try:
            for next_done in asyncio.as_completed(tasks):
                done = await next_done
                if done.verdict is not None and done.verdict.status == "verified":
                    break
        finally:
            for task, version in tasks.items():
                if not task.done():
                    task.cancel()
                    version.record.cancelled = True
                    version.record.error = "cancelled: another candidate was verified first"
            await asyncio.gather(*tasks, return_exceptions=True)
        if self.kept is None:
            errors = [v.record.error for v in versions if v.record.error]
            first = next((v for v in versions if v.record.error), None)
            if first is not None and first.record.error and first.record.error.startswith("incomplete"):
                raise LazyOutputError(f"every candidate's code is incomplete: {first.record.error}")
            raise NoCodeError("; ".join(dict.fromkeys(e for e in errors if e)) or "no candidate had code")
        return self.kept

    async def candidate(self, version: Version, prompt: str, usage: RunUsage | None) -> Version:
        started = time.perf_counter()
        part = AgentUsage(model=self.settings.generator)
        try:
            generation = await generate(
                prompt,
                self.models["generator"],
                model_settings=self.generator_settings(self.seed(version.record.index)),
                usage=usage,
                usage_limits=self.usage_limits,
                record=part,
            )
            if generation.lazy.lazy:
                version.text = generation.text
                version.record.error = f"incomplete: {generation.lazy.reason()}"
                return version
            await self.accept(version, generation.text, await self.extract(generation.text, usage))
        except NoCodeError as exc:
            version.record.error = str(exc)
        finally:
            self.charge(version, part)
            version.record.duration = time.perf_counter() - started
        return version

    # --- repairs ------------------------------------------------------------------------

    def refuse_repair(self) -> str | None:
        """Why no repair can run now (None: it can); ends the run when asked again after a no."""
        verdict = self.verdict
        if verdict is None:
            reason = "There are no files to repair yet: call write_files first."
        elif verdict.status == "verified":
            reason = "The files are verified: nothing to repair. Call finish."
        elif verdict.status != "failed":
            reason = f"Nothing to repair ({verdict.summary()}). Call finish."
        elif self.repairs_left == 0:
            reason = f"No repairs left (the limit is {self.settings.repairs}). Call finish."
        else:
            return None
        return self.refuse(reason) if verdict is not None else reason

    def refuse(self, reason: str) -> str:
        """Say no; pointless calls beyond POINTLESS_CALLS after the files are judged end the run.

        The embedded 1.5B sometimes sends its three first tool calls twice in one go, so one
        pointless call is not yet a loop."""
        self.refusals += 1
        if self.refusals > POINTLESS_CALLS:
            raise LoopFinished(reason)
        return reason

    async def repair(self, notes: str, usage: RunUsage | None) -> Version:
        """One repair round from the kept version: ask afresh, apply, judge, keep the best."""
        base = self.kept
        assert base is not None and base.verdict is not None
        repair_format = self.settings.repair_format
        version = self.new_version(
            "repair", notes=notes.strip() or None, repair_format=repair_format, base=base.record.index
        )
        version.record.temperature = self.repair_temperature(base)
        started = time.perf_counter()
        role = "generator"
        self.reporter.stage(
            role, self.settings.generator, f"repair {self.repairs_used} of {self.settings.repairs}"
        )
        prompt = repair_prompt(self.request, base.verdict, base.files, notes, repair_format)
        budget = repair_budget(base.files, self.settings.role_settings[role].get("max_tokens"))
        model_settings = self.generator_settings(version.record.seed or 0, budget, version.record.temperature)
        part = AgentUsage(model=self.settings.generator)
        try:
            if repair_format == "edit":
                text = await ask_for_edits(
                    prompt,
                    self.models[role],
                    record=part,
                    model_settings=model_settings,
                    usage=usage,
                    usage_limits=self.usage_limits,
                )
                files = await self.edited_files(text, base, usage)
            else:
                generation = await generate(
                    prompt,
                    self.models[role],
                    model_settings=model_settings,
                    usage=usage,
                    usage_limits=self.usage_limits,
                    on_tokens=lambda n: self.reporter.tokens(role, n),
                    record=part,
                )
                text = generation.text
                files = self.same_names(await self.whole_files(generation, usage), base)
            await self.accept(version, text, files)
        except (NoCodeError, EditError) as exc:
            version.record.error = str(exc)
        finally:
            self.charge(version, part)
            version.record.duration = time.perf_counter() - started
        self.reporter.done(role, self.describe(version))
        return version

    async def whole_files(self, generation: Generation, usage: RunUsage | None) -> list[ExtractedFile]:
        if generation.lazy.lazy:
            raise NoCodeError(f"incomplete: {generation.lazy.reason()}")
        return await self.extract(generation.text, usage)

    async def edited_files(self, text: str, base: Version, usage: RunUsage | None) -> list[ExtractedFile]:
        """The kept files with the answer's edits applied; whole files when it wrote those instead."""
        if not has_edit_blocks(text):  # the fallback: whole files, held to the generator's rule
            files = await self.extract(text, usage)
            verdict = lazy_verdict(files)
            if verdict.lazy:  # seen on the 1.5B: three 8-byte placeholder files
                raise NoCodeError(f"incomplete: {verdict.reason()}")
            return self.same_names(files, base)
        edited = apply_edits(base.contents, parse_edits(text))
        languages = {f.name: f.language for f in base.files}
        return [
            ExtractedFile(name, languages.get(name) or language_of_name(name), content, i, origin="edit")
            for i, (name, content) in enumerate(edited.items())
        ]

    @staticmethod
    def same_names(files: list[ExtractedFile], base: Version) -> list[ExtractedFile]:
        """A one-file answer to a one-file program keeps the program's file name."""
        if len(files) == 1 and len(base.files) == 1 and files[0].name != base.files[0].name:
            old, new = base.files[0], files[0]
            if new.language == old.language:
                return [ExtractedFile(old.name, new.language, new.content, new.block_index, new.origin)]
        return files

    def describe(self, version: Version) -> str:
        if version.record.no_change:
            return f"version {version.record.index}: the same files again (a failed round)"
        if version.verdict is None:
            return f"version {version.record.index}: {version.record.error}"
        return f"version {version.record.index}: {version.verdict.summary()}"

    # --- the end --------------------------------------------------------------------------

    def finish(self) -> None:
        """Record which version the user gets, why, and the run's final verdict."""
        record = self.manifest.verification
        record.repairs_used = self.repairs_used
        kept = self.kept
        if kept is None or kept.verdict is None:
            return
        record.kept = kept.record.index
        record.verdict = verdict_record(kept.verdict)
        judged = [v for v in self.versions if v.verdict is not None]
        samples = [v for v in self.versions if v.record.kind == "sample"]
        if kept.record.kind == "sample" and any(v.record.cancelled for v in samples):
            record.kept_reason = "the first candidate verified; the others were cancelled"
        elif len(judged) == 1:
            record.kept_reason = "the only version that was judged"
        elif kept is judged[-1]:
            record.kept_reason = f"the best score ({kept.score:.2f}), reached by the last version judged"
        else:
            others = ", ".join(f"v{v.record.index}: {v.score:.2f}" for v in judged if v is not kept)
            record.kept_reason = (
                f"the best score ({kept.score:.2f}); later versions were no better ({others}), "
                "so the earlier files are the ones in the output folder"
            )
        if kept.verdict.screenshot and Path(kept.verdict.screenshot).is_file():
            target = self.out_dir / "screenshot.png"
            shutil.copyfile(kept.verdict.screenshot, target)
            record.verdict.screenshot = str(target)

    def close(self) -> None:
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None
