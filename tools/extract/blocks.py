"""Finding the code in an answer: fenced blocks, an unfenced HTML document, or plain code."""

from __future__ import annotations

import re

from tools.extract.guess import guess_language
from tools.extract.languages import language_of_name, normalise_language
from tools.extract.lines import Line, RawLine, first_answer_line, split_lines
from tools.extract.names import comment_name, compatible, parse_info, preceding_names
from tools.extract.records import CodeBlock

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_HTML_START = re.compile(r"^\s*(<!doctype\s+html|<html[\s>])", re.IGNORECASE)
_HTML_END = re.compile(r"</html\s*>", re.IGNORECASE)
_WRAPPERS = ("", "md", "markdown")  # fence tags a whole answer gets wrapped in


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


def find_blocks(answer: str) -> list[CodeBlock]:
    """All code in the answer, in order; prose is left out. No code -> []."""
    lines = split_lines(answer)
    first = first_answer_line(answer, lines)
    raws: list[RawLine] = []
    gaps: list[tuple[int, int]] = []  # line ranges outside fences
    gap_start = i = first
    while i < len(lines):
        match = _FENCE.match(lines[i].text)
        if not match or (match["fence"][0] == "`" and "`" in match["info"]):
            i += 1
            continue
        fence = match["fence"]
        if _wraps_a_fence(lines, i, match["info"]):
            i += 1  # "```markdown" around a "```python" block: the inner block is the code
            continue
        j = i + 1
        while j < len(lines) and not _closes(lines[j].text, fence):
            j += 1
        closed = j < len(lines)
        gaps.append((gap_start, i))
        raws.append(
            RawLine(
                first=i,
                code_start=lines[i].end,
                code_end=lines[j].start if closed else len(answer),
                info=match["info"].strip(),
                truncated=not closed,
                gap_start=gap_start,
            )
        )
        i = gap_start = j + 1
    gaps.append((gap_start, len(lines)))

    for start, stop in gaps:
        html = _unfenced_html(lines, start, stop)
        if html:
            raws.append(html)
    if not raws:
        code = _unfenced_code(answer, lines, first)
        if code:
            raws.append(code)
    raws.sort(key=lambda raw: raw.code_start)
    return [_make_block(index, answer, lines, raw) for index, raw in enumerate(raws)]


def _wraps_a_fence(lines: list[Line], i: int, info: str) -> bool:
    """A markdown (or bare) fence whose first line opens another fence with a language tag.

    Small models wrap their answer in ```markdown and then open ```python inside it, with a
    single closing fence for both; read literally, all the code would be markdown prose.
    """
    if info.strip().lower() not in _WRAPPERS:
        return False
    # Indexes, not a slice: a slice copies the rest of the answer at every fence (quadratic).
    inner = next((lines[k].text for k in range(i + 1, len(lines)) if lines[k].text.strip()), "")
    opened = _FENCE.match(inner)
    return bool(opened and opened["info"].strip().lower() not in _WRAPPERS)


def _unfenced_html(lines: list[Line], start: int, stop: int) -> RawLine | None:
    """An HTML document written straight into the answer, without a fence."""
    begin = next((i for i in range(start, stop) if _HTML_START.match(lines[i].text)), None)
    if begin is None:
        return None
    closing = [i for i in range(begin, stop) if _HTML_END.search(lines[i].text)]
    if closing:
        last, truncated = closing[-1], False
    else:
        last = max(i for i in range(begin, stop) if lines[i].text.strip())
        truncated = True
    return RawLine(begin, lines[begin].start, lines[last].end, None, truncated, start)


def _unfenced_code(answer: str, lines: list[Line], first: int) -> RawLine | None:
    """An answer that is plainly code from its first code line to its last."""
    code_lines = [
        i for i in range(first, len(lines)) if lines[i].text.strip() and not is_prose(lines[i].text)
    ]
    if not code_lines:
        return None
    begin, last = code_lines[0], code_lines[-1]
    body = [i for i in range(begin, last + 1) if lines[i].text.strip()]
    if len(code_lines) < 0.75 * len(body):
        return None
    language = guess_language(answer[lines[begin].start : lines[last].end])
    if language in (None, "text", "shell"):
        return None
    return RawLine(begin, lines[begin].start, lines[last].end, None, False, first)


# Lower-case keywords (prose sentences start with a capital) and upper-case SQL.
_CODE_STARTS = re.compile(
    r"(def|class|import|from|return|if|elif|else|for|while|try|except|with|raise|yield|async|"
    r"await|const|let|var|function|export|assert|print|SELECT|INSERT|CREATE|UPDATE|DELETE)\b"
)
_WORD = re.compile(r"^[(\"'`*_]*[A-Za-z][a-z'’-]*[)\"'`*_,.:;!?]*$")


def is_prose(line: str) -> bool:
    """A sentence rather than code: mostly plain words, no code punctuation at the end."""
    text = line.strip()
    if text.startswith(("#", "//", "/*", "*", "<", "--")) or _CODE_STARTS.match(text):
        return False
    tokens = text.split()
    if len(tokens) < 4 or text.endswith(("{", "}", ";", "(", "[", "=")):
        return False
    return sum(bool(_WORD.match(token)) for token in tokens) >= 0.75 * len(tokens)


def _make_block(index: int, answer: str, lines: list[Line], raw: RawLine) -> CodeBlock:
    code = answer[raw.code_start : raw.code_end]
    tag, fence_name = parse_info(raw.info or "")
    language = normalise_language(tag)
    if raw.info is None:  # unfenced: only an HTML document or plain code gets here
        language = guess_language(code)

    label, prose = preceding_names(lines, raw)
    candidates = [(fence_name, "fence"), (label, "label"), (comment_name(code), "comment")]
    candidates.append((prose, "prose"))

    name_hint = name_source = None
    for name, source in candidates:
        if name and (source == "fence" or compatible(language, name)):
            name_hint, name_source = name, source
            break
    if language is None and name_hint:
        language = language_of_name(name_hint)
    if language is None:
        language = guess_language(code)
    return CodeBlock(
        index=index,
        language=language,
        code=code,
        name_hint=name_hint,
        truncated=raw.truncated,
        line=raw.first + (2 if raw.info is not None else 1),
        name_source=name_source,
    )
