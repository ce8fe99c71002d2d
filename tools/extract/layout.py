"""Laying blocks out as files: the deterministic layout, a model's layout, and the listing."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from tools.extract.blocks import find_blocks, is_prose
from tools.extract.guess import looks_like_commands, looks_like_tree
from tools.extract.languages import NAMED_ONLY, default_name, language_of_name
from tools.extract.lines import THINK_OPEN
from tools.extract.records import CodeBlock, ExtractedFile, Extraction, NoCodeError
from tools.extract.references import block_references, find_references
from tools.formatting import bounded


@dataclass
class _Slot:
    block: CodeBlock
    name: str | None = None
    origin: str = ""  # answer, reference, default


def _drop_reason(block: CodeBlock) -> str | None:
    """Why a block is not a file, or None when it is one."""
    if block.name_hint or block.code.startswith("#!"):
        return None  # named, or a script with a shebang
    if not block.code.strip():
        return "empty"
    if looks_like_tree(block.code):
        return "a directory tree"
    if looks_like_commands(block.code):
        return "shell commands"
    if block.language is None and all(is_prose(line) for line in block.code.splitlines() if line.strip()):
        return "prose"  # "Open index.html in your browser." in a fence
    if block.language in NAMED_ONLY:
        if block.language == "shell" and re.search(r"^\s*(if|for|while|function)\b", block.code, re.M):
            return None  # a script with control flow, not a list of commands
        return {"shell": "shell commands", "text": "plain text"}.get(
            block.language, f"{block.language} without a file name"
        )
    return None


def _package_json_name(code: str) -> str | None:
    """package.json / tsconfig.json when an unnamed JSON block plainly is one."""
    try:
        data = json.loads(code)
    except ValueError:
        return None
    if isinstance(data, dict) and "compilerOptions" in data:
        return "tsconfig.json"
    if isinstance(data, dict) and {"dependencies", "devDependencies", "scripts"} & set(data):
        return "package.json"
    return None


def extract_files(answer: str) -> Extraction:
    """Find the blocks and lay them out as files; raise NoCodeError if there are none."""
    blocks = find_blocks(answer)
    if not blocks:
        opened = THINK_OPEN.match(answer)
        if opened and not re.search(rf"</{opened.group(1)}>", answer, re.IGNORECASE):
            raise NoCodeError(f"no code in the answer: it stops inside its <{opened.group(1)}> part")
        raise NoCodeError("no code in the answer: it has no fenced code block and no HTML/code document")
    notes: list[str] = []  # why the layout is ambiguous
    dropped: list[str] = []
    slots: list[_Slot] = []
    for block in blocks:
        why = _drop_reason(block)
        if why:
            dropped.append(f"block {block.index} ({why})")
        else:
            slot = _Slot(block)
            if block.name_hint:
                slot.name, slot.origin = block.name_hint.removeprefix("./"), "answer"
            slots.append(slot)

    _name_by_references(slots, notes)
    for slot in slots:
        if slot.name is None and slot.block.language == "json":
            slot.name = _package_json_name(slot.block.code)
            slot.origin = "default" if slot.name else ""
    _name_by_default(slots, notes)
    kept = _resolve_collisions([slot for slot in slots if slot.name], notes)

    if not kept:
        reasons = dropped + notes
        more = f"; and {len(reasons) - 5} more" if len(reasons) > 5 else ""
        shown = [bounded(r, 200) for r in reasons[:5]]
        what = "; ".join(shown) + more  # one short line, however many blocks were dropped
        raise NoCodeError(f"no code in the answer that can be a file: {what}")
    files = [
        ExtractedFile(
            name=slot.name or "",
            language=slot.block.language or language_of_name(slot.name or ""),
            content=slot.block.code,
            block_index=slot.block.index,
            origin=slot.origin,
        )
        for slot in sorted(kept, key=lambda slot: slot.block.index)
    ]
    return Extraction(
        blocks=blocks,
        files=files,
        ambiguous=bool(notes),
        reason=_reason(notes, kept, dropped),
    )


def _name_by_references(slots: list[_Slot], notes: list[str]) -> None:
    """Unnamed blocks take the names the HTML (and JS/CSS) blocks load them by."""
    claimed = {slot.name.lower() for slot in slots if slot.name}
    for referrer in slots:
        if referrer.block.language not in ("html", "javascript", "typescript", "jsx", "tsx", "css"):
            continue
        referrer_name = referrer.name or default_name(referrer.block.language) or ""
        for target in block_references(referrer.block, referrer_name):
            if target.lower() in claimed or target.startswith(".."):
                continue
            language = language_of_name(target)
            if language is None and referrer.block.language != "html":
                language = "javascript"  # an extensionless import: "./utils"
                target = f"{target}.js"
            unnamed = [s for s in slots if s.name is None and s is not referrer]
            matches = [s for s in unnamed if s.block.language == language]
            if not matches:
                matches = [s for s in unnamed if s.block.language is None]
                if matches:
                    notes.append(f"block {matches[0].block.index} has no known language: took it as {target}")
            if matches:
                matches[0].name, matches[0].origin = target, "reference"
                claimed.add(target.lower())


def _name_by_default(slots: list[_Slot], notes: list[str]) -> None:
    """The rest take their language's default name; the longest wins a shared default."""
    by_language: dict[str | None, list[_Slot]] = {}
    for slot in slots:
        if slot.name is None:
            by_language.setdefault(slot.block.language, []).append(slot)
    for language, group in by_language.items():
        name = default_name(language)
        if name is None:
            indexes = ", ".join(str(slot.block.index) for slot in group)
            what = f"language {language}" if language else "no known language"
            notes.append(f"block {indexes} has {what}: left out")
            continue
        longest = max(group, key=lambda slot: (len(slot.block.code), slot.block.index))
        longest.name, longest.origin = name, "default"
        if len(group) > 1:
            others = ", ".join(str(s.block.index) for s in group if s is not longest)
            notes.append(
                f"{len(group)} unnamed {language} blocks: kept the longest (block "
                f"{longest.block.index}) as {name}, left out block {others}"
            )


_ORIGIN_RANK = {"answer": 0, "reference": 1, "default": 2}


def _resolve_collisions(slots: list[_Slot], notes: list[str]) -> list[_Slot]:
    """One block per name: named by the answer first, then the longest, then the last."""
    by_name: dict[str, list[_Slot]] = {}
    for slot in slots:
        by_name.setdefault((slot.name or "").lower(), []).append(slot)
    kept = []
    for group in by_name.values():
        best = min(
            group,
            key=lambda s: (_ORIGIN_RANK.get(s.origin, 3), -len(s.block.code), -s.block.index),
        )
        kept.append(best)
        if any(s.block.code != best.block.code for s in group):
            indexes = ", ".join(str(s.block.index) for s in sorted(group, key=lambda s: s.block.index))
            notes.append(f"blocks {indexes} share the name {best.name}: kept block {best.block.index}")
    return kept


def _reason(notes: list[str], kept: list[_Slot], dropped: list[str]) -> str:
    """One line: the guesses first, then where each name came from."""
    origins = {
        "answer": "named in the answer",
        "reference": "named by references",
        "default": "default names",
    }
    parts = []
    for origin, label in origins.items():
        names = [slot.name or "" for slot in kept if slot.origin == origin]
        if names:
            parts.append(f"{label}: {', '.join(names)}")
    if dropped:
        parts.append(f"not files: {', '.join(dropped)}")
    layout = "; ".join(parts)
    return f"{'; '.join(notes)} ({layout})" if notes else layout


def apply_layout(blocks: list[CodeBlock], layout: dict[int, str]) -> list[ExtractedFile]:
    """Files from a layout {block index: name} that a model chose; other blocks are dropped."""
    by_index = {block.index: block for block in blocks}
    unknown = sorted(set(layout) - set(by_index))
    if unknown:
        known = ", ".join(str(index) for index in sorted(by_index)) or "none"
        raise ValueError(f"no block {unknown[0]} in the answer (its blocks are {known})")
    seen: dict[str, int] = {}
    for index, name in sorted(layout.items()):
        key = name.removeprefix("./").lower()  # one file on case-insensitive file systems
        if key in seen:
            raise ValueError(f"blocks {seen[key]} and {index} are both named {name}: one block per file")
        seen[key] = index
    return [
        ExtractedFile(
            name.removeprefix("./"),
            by_index[index].language or language_of_name(name),
            by_index[index].code,
            index,
            "layout",
        )
        for index, name in sorted(layout.items())
    ]


def describe_blocks(blocks: list[CodeBlock]) -> str:
    """A short listing a small model reads to choose a layout: no code beyond 2 lines."""
    out = []
    for block in blocks:
        lines = block.code.splitlines()
        facts = [block.language or "unknown language"]
        facts.append(f"name hint {block.name_hint}" if block.name_hint else "no name")
        facts.append(f"{len(lines)} line{'s' if len(lines) != 1 else ''}")
        if block.truncated:
            facts.append("cut off")
        not_a_file = _drop_reason(block)
        if not_a_file:
            facts.append(f"probably not a file: {not_a_file}")
        out.append(f"block {block.index}: {', '.join(facts)}")
        for line in [line for line in lines if line.strip()][:2]:
            shown = line.strip()
            out.append(f"    | {shown[:77] + '...' if len(shown) > 80 else shown}")
        refs = find_references(block.code, block.language)
        if refs:
            shown_refs = ", ".join(refs[:8]) + (", ..." if len(refs) > 8 else "")
            out.append(f"    loads: {shown_refs}")
    return "\n".join(out)
