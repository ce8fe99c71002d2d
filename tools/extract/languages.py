"""Language names: fence tags, file extensions and the default file name per language."""

from __future__ import annotations

import posixpath


def word_list(text: str) -> list[str]:
    """A long word list written as one string, to keep the tables short."""
    return text.split()


ALIASES = {
    **dict.fromkeys(["js", "javascript", "mjs", "cjs", "node", "es6", "ecmascript"], "javascript"),
    **dict.fromkeys(["ts", "typescript", "mts"], "typescript"),
    **dict.fromkeys(["py", "python", "python3", "py3"], "python"),
    **dict.fromkeys(
        ["sh", "bash", "shell", "zsh", "console", "shell-session", "shellsession", "terminal"],
        "shell",
    ),
    **dict.fromkeys(["cmd", "bat", "batch", "powershell", "ps1", "pwsh"], "shell"),
    **dict.fromkeys(["html", "htm", "xhtml", "html5"], "html"),
    **dict.fromkeys(["json", "jsonc", "json5"], "json"),
    **dict.fromkeys(["sql", "sqlite", "postgresql", "postgres", "mysql", "psql", "plsql"], "sql"),
    **dict.fromkeys(["yaml", "yml"], "yaml"),
    **dict.fromkeys(["md", "markdown"], "markdown"),
    **dict.fromkeys(["text", "txt", "plaintext", "plain", "output", "log", "none"], "text"),
    **dict.fromkeys(["go", "golang"], "go"),
    **dict.fromkeys(["rs", "rust"], "rust"),
    **dict.fromkeys(["rb", "ruby"], "ruby"),
    **dict.fromkeys(["kt", "kotlin"], "kotlin"),
    **dict.fromkeys(["c", "h"], "c"),
    **dict.fromkeys(["cpp", "c++", "cc", "hpp", "cxx"], "cpp"),
    **dict.fromkeys(["cs", "csharp", "c#"], "csharp"),
    **dict.fromkeys(["dockerfile", "docker"], "dockerfile"),
    **dict.fromkeys(["makefile", "make"], "makefile"),
    **dict.fromkeys(["diff", "patch"], "diff"),
    **dict.fromkeys(["env", "dotenv"], "dotenv"),
    **{
        name: name
        for name in word_list(
            "tsx jsx css scss sass less toml ini xml svg vue svelte java swift php lua r dart scala"
        )
    },
}

EXTENSIONS = {
    **dict.fromkeys([".html", ".htm"], "html"),
    **dict.fromkeys([".js", ".mjs", ".cjs"], "javascript"),
    **dict.fromkeys([".ts", ".mts"], "typescript"),
    **dict.fromkeys([".sh", ".bash", ".zsh", ".ps1", ".bat"], "shell"),
    **dict.fromkeys([".yaml", ".yml"], "yaml"),
    **dict.fromkeys([".md", ".markdown"], "markdown"),
    **dict.fromkeys([".c", ".h"], "c"),
    **dict.fromkeys([".cpp", ".hpp", ".cc"], "cpp"),
    **dict.fromkeys([".ini", ".cfg"], "ini"),
    ".tsx": "tsx",
    ".jsx": "jsx",
    ".py": "python",
    ".css": "css",
    ".scss": "scss",
    ".sass": "sass",
    ".less": "less",
    ".json": "json",
    ".sql": "sql",
    ".toml": "toml",
    ".txt": "text",
    ".xml": "xml",
    ".svg": "svg",
    ".vue": "vue",
    ".svelte": "svelte",
    ".go": "go",
    ".rs": "rust",
    ".rb": "ruby",
    ".java": "java",
    ".kt": "kotlin",
    ".swift": "swift",
    ".cs": "csharp",
    ".php": "php",
    ".lua": "lua",
    ".r": "r",
    ".dart": "dart",
    ".env": "dotenv",
}

# Names without an extension that are still plainly file names.
_BARE_NAMES = {
    "dockerfile": "dockerfile",
    "makefile": "makefile",
    "procfile": None,
    ".gitignore": None,
    ".env": "dotenv",
}

_DEFAULT_NAMES = {
    "html": "index.html",
    "css": "style.css",
    "javascript": "script.js",
    "typescript": "index.ts",
    "tsx": "App.tsx",
    "jsx": "App.jsx",
    "python": "main.py",
    "sql": "query.sql",
    "json": "data.json",
    "yaml": "config.yaml",
    "toml": "config.toml",
    "ini": "config.ini",
    "markdown": "README.md",
    "scss": "style.scss",
    "sass": "style.sass",
    "less": "style.less",
    "xml": "data.xml",
    "svg": "image.svg",
    "vue": "App.vue",
    "svelte": "App.svelte",
    "go": "main.go",
    "rust": "main.rs",
    "ruby": "main.rb",
    "java": "Main.java",
    "kotlin": "Main.kt",
    "swift": "main.swift",
    "c": "main.c",
    "cpp": "main.cpp",
    "csharp": "Program.cs",
    "php": "index.php",
    "lua": "main.lua",
    "r": "main.R",
    "dart": "main.dart",
    "scala": "Main.scala",
    "dockerfile": "Dockerfile",
    "makefile": "Makefile",
    "shell": "script.sh",
    "dotenv": ".env",
}

# Languages whose blocks are files only when the answer names them: commands, output,
# directory trees and patches are shown to the reader, not saved.
NAMED_ONLY = {"shell", "text", "diff", "markdown", "dotenv"}

# Which languages may share a name: a hint "game.js" on a ```jsx block is fine, on a
# ```css block it names some other file the prose talks about.
FAMILIES = {
    **dict.fromkeys(["javascript", "typescript", "jsx", "tsx"], "js"),
    **dict.fromkeys(["css", "scss", "sass", "less"], "css"),
    **dict.fromkeys(["html", "vue", "svelte", "php", "xml", "svg"], "markup"),
}

# Library names that look like file names in prose ("a Three.js scene").
LIBRARY_NAMES = {
    f"{name}.js"
    for name in word_list(
        "node vue next nuxt three react express chart p5 d3 anime matter phaser pixi "
        "babylon ember backbone angular nest deno socket moment alpine htmx"
    )
}


def normalise_language(tag: str | None) -> str | None:
    """A fence tag as one of the names used here ("js" -> "javascript"), or None."""
    if not tag:
        return None
    tag = tag.strip().strip("{}").lstrip(".").lower()
    if not tag or "=" in tag:
        return None
    return ALIASES.get(tag, tag)


def language_of_name(name: str) -> str | None:
    """The language a file name implies, from its extension."""
    base = posixpath.basename(name).lower()
    if base in _BARE_NAMES:
        return _BARE_NAMES[base]
    return EXTENSIONS.get(posixpath.splitext(base)[1])


def default_name(language: str | None) -> str | None:
    """The file name used for a block of `language` that nothing else names."""
    return _DEFAULT_NAMES.get(language or "")
