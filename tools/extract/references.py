"""What code loads (stylesheets, scripts, imports), and the local files it points at."""

from __future__ import annotations

import posixpath
import re
from urllib.parse import unquote

from tools.extract.records import CodeBlock

# Bounded repeats and an unclosed comment running to the end keep these linear on odd input.
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_ATTR = r"""\s*=\s*(?:"([^"]{0,2000})"|'([^']{0,2000})'|([^\s"'>]+))"""
_LINK_HREF = re.compile(rf"<link\b[^>]{{0,1000}}?\bhref{_ATTR}", re.I)
_SCRIPT_SRC = re.compile(rf"<script\b[^>]{{0,1000}}?\bsrc{_ATTR}", re.I)
_JS_IMPORT = re.compile(
    r"""^\s*(?:import|export)\s+(?:[\w*{}\s,$]{1,1000}?\s+from\s+)?["']([^"'\n]+)["']"""
    r"""|\b(?:import|require)\(\s*["']([^"'\n]+)["']\s*\)""",
    re.M,
)
_CSS_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?["']?([^"')\s;]+)""")
_PY_IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import\b|import\s+([\w.]+))", re.M)


def find_references(code: str, language: str | None) -> list[str]:
    """What the code loads, as written: stylesheets, scripts, imported modules."""
    found: list[str] = []
    if language in ("html", "vue", "svelte", "php"):
        markup = _HTML_COMMENT.sub("", code)
        for pattern in (_LINK_HREF, _SCRIPT_SRC):
            found += [next(filter(None, m.groups()), "") for m in pattern.finditer(markup)]
    if language in ("javascript", "typescript", "jsx", "tsx", "vue", "svelte"):
        found += [m.group(1) or m.group(2) for m in _JS_IMPORT.finditer(code)]
    if language in ("css", "scss", "sass", "less"):
        found += [m.group(1) for m in _CSS_IMPORT.finditer(code)]
    if language == "python":
        found += [m.group(1) or m.group(2) for m in _PY_IMPORT.finditer(code)]
    return list(dict.fromkeys(ref for ref in found if ref))


def is_external(ref: str) -> bool:
    """A URL that lives on the network, not in the answer's files."""
    return bool(re.match(r"^(https?:)?//", ref, re.I))


def local_target(ref: str, from_name: str) -> str | None:
    """The file name a local reference points at, relative to the output folder.

    None for URLs, data:, anchors, template placeholders and bare package names; a path
    that climbs out of the folder keeps its `../` so it can never match a file.
    """
    if is_external(ref) or re.match(r"^[a-z][a-z0-9+.-]*:", ref, re.I) or ref.startswith("#"):
        return None
    if any(marker in ref for marker in ("{{", "{%", "${", "<%")):
        return None
    path = unquote(ref.split("#")[0].split("?")[0])
    if not path:
        return None
    if path.startswith("/"):
        return posixpath.normpath(path.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(from_name), path))


def block_references(block: CodeBlock, name: str) -> list[str]:
    """The local files a block (to be saved as `name`) loads, as relative names."""
    targets = []
    for ref in find_references(block.code, block.language):
        if block.language in ("javascript", "typescript", "jsx", "tsx") and not ref.startswith((".", "/")):
            continue  # a package such as "react", not a file
        target = local_target(ref, name) if block.language != "python" else None
        if target:
            targets.append(target)
    return targets
