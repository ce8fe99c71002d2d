"""Turn a code model's raw answer into files, deterministically and without a model.

`find_blocks` finds the code in the answer: fenced blocks (``` or ~~~ of any length, a
longer fence may hold shorter ones), or an answer that is itself an HTML document or plain
code. `extract_files` lays the blocks out as files: names the answer gives (fence info,
a heading or label just before the block, a first-line comment), then names the HTML
references (`<link href>`, `<script src>`), then a default per language. When it had to
guess it says so (`Extraction.ambiguous`), and the pipeline can ask a small model to pick
the layout from `describe_blocks` and apply it with `apply_layout`.

Code is never rewritten: every file's content is a verbatim slice of the answer.

    python -m tools.extract answer.txt --out out/ [--force]

The package, one job per module: `records` (the data types), `languages` (tags, extensions,
default names), `lines` (the answer as lines), `guess` (the language of untagged code),
`names` (the names an answer gives), `blocks` (finding the code), `references` (what code
loads), `layout` (blocks -> files) and `cli` (the command line, not imported here).
"""

from __future__ import annotations

from tools.extract.blocks import find_blocks
from tools.extract.guess import guess_language, looks_like_commands
from tools.extract.languages import default_name, language_of_name, normalise_language
from tools.extract.layout import apply_layout, describe_blocks, extract_files
from tools.extract.records import CodeBlock, ExtractedFile, Extraction, NoCodeError
from tools.extract.references import block_references, find_references, is_external, local_target

__all__ = [
    "CodeBlock",
    "ExtractedFile",
    "Extraction",
    "NoCodeError",
    "apply_layout",
    "block_references",
    "default_name",
    "describe_blocks",
    "extract_files",
    "find_blocks",
    "find_references",
    "guess_language",
    "is_external",
    "language_of_name",
    "local_target",
    "looks_like_commands",
    "normalise_language",
]
