"""Compiled languages: C and C++ are compiled with gcc/g++ and run in the sandbox when the
compiler is installed; every other language gets a not-verified verdict that says why."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import PurePosixPath

from tools.verify.records import Check, Verdict, infrastructure, make_verdict, not_verified
from tools.verify.sandboxed import HarnessFailure, head, outcome, run_in_sandbox, tail

RUN_SECONDS = 20.0
C_SUFFIXES = (".c",)
CPP_SUFFIXES = (".cpp", ".cc", ".cxx")
_COMPILED_MARK = "@@codecrew compiled"
_FAILED_MARK = "@@codecrew compile failed"

# Other languages: suffix -> (name, the toolchain that would judge it)
OTHER_LANGUAGES = {
    ".rs": ("Rust", "cargo"),
    ".go": ("Go", "go"),
    ".java": ("Java", "javac"),
    ".kt": ("Kotlin", "kotlinc"),
    ".rb": ("Ruby", "ruby"),
    ".php": ("PHP", "php"),
    ".cs": ("C#", "dotnet"),
    ".swift": ("Swift", "swift"),
    ".lua": ("Lua", "lua"),
    ".sh": ("shell", "bash"),
    ".r": ("R", "Rscript"),
    ".scala": ("Scala", "scalac"),
    ".dart": ("Dart", "dart"),
    ".hs": ("Haskell", "ghc"),
}


async def judge_c(files: Mapping[str, str | bytes], cpp: bool, timeout: float) -> Verdict:
    compiler = "g++" if cpp else "gcc"
    suffixes = CPP_SUFFIXES if cpp else C_SUFFIXES
    sources = sorted(name for name in files if name.lower().endswith(suffixes))
    if shutil.which(compiler) is None:
        return not_verified("c", f"no judge for {'C++' if cpp else 'C'} ({compiler} not installed)")
    std = "-std=gnu++17" if cpp else "-std=gnu11"
    quoted = " ".join(f"'{name}'" for name in sources if "'" not in name)
    script = (
        f"{compiler} {std} -O0 -o ./.codecrew-prog {quoted} -lm 2>.codecrew-cc.txt; s=$?; "
        f"cat .codecrew-cc.txt >&2; "
        f'if [ $s -ne 0 ]; then echo "{_FAILED_MARK}" >&2; exit 1; fi; '
        f'echo "{_COMPILED_MARK}" >&2; exec ./.codecrew-prog'
    )
    result = await run_in_sandbox(["sh", "-c", script], files, timeout=min(timeout, RUN_SECONDS))
    if isinstance(result, HarnessFailure):
        return infrastructure("c", result.reason)
    compiler_output, _, run_output = result.stderr.partition(_COMPILED_MARK)
    if _COMPILED_MARK not in result.stderr:
        if _FAILED_MARK not in result.stderr and result.returncode in (126, 127):
            return infrastructure("c", f"{compiler} could not run in the sandbox: {tail(result.stderr, 2)}")
        errors = tail(compiler_output.replace(_FAILED_MARK, ""), lines=15)
        return make_verdict("c", [Check("compiles", False, f"{compiler} {' '.join(sources)}:\n{errors}")])
    checks = [Check("compiles", True, f"{compiler} {' '.join(sources)}: compiled")]
    if result.ok:
        said = f"the program: exit 0 after {result.duration:.1f} s"
        checks.append(Check("runs", True, said, output=head(result.stdout)))
    else:
        shown = tail(run_output) or tail(result.stdout)
        detail = f"the program: {outcome(result)}"
        checks.append(Check("runs", False, f"{detail}\n{shown}" if shown else detail))
    return make_verdict("c", checks)


def no_judge(names: list[str]) -> Verdict:
    """Not verified: which language it is, and what is missing to judge it."""
    for name in names:
        suffix = PurePosixPath(name).suffix.lower()
        if suffix in OTHER_LANGUAGES:
            language, tool = OTHER_LANGUAGES[suffix]
            if shutil.which(tool) is None:
                return not_verified("none", f"no judge for {language} ({tool} not installed)")
            return not_verified(
                "none", f"no judge for {language} yet ({tool} is installed, codecrew does not run it)"
            )
    kinds = sorted({PurePosixPath(name).suffix.lower() or PurePosixPath(name).name for name in names})
    if not kinds:
        return not_verified("none", "no files were written")
    return not_verified("none", f"nothing runnable to judge ({', '.join(kinds)} files)")
