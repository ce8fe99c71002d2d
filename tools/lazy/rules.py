"""What a placeholder says: the phrases that mark code left out, and how sure each one is."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A placeholder phrase ends its comment, or is followed by words that say "left out".
_END = (
    r"(?=\s*(?:$|[.…,;:)(\]\-—–*/>]|here\b|goes\b|go\b|remains?\b|stays?\b|is\b|are\b|as\b|"
    r"unchanged\b|same\b|omitted\b|removed\b|would\b|will\b|should\b|continues?\b|follows?\b|"
    r"etc\b|and\s+so\s+on\b|for\s+brevity\b))"
)
# Words that only ever mean "the code": "// rest of the code" is never a section heading.
_GENERIC = r"(?:code|script|file|implementation|program|source|js|javascript|typescript|python)"
_GENERIC_MARKUP = r"(?:markup|html|styles?|css|content)"
# Words a real comment may use as a heading ("// Other functions", "<!-- More buttons -->").
_SPECIFIC = (
    r"(?:functions?|methods?|logic|game(?:\s+logic)?|class(?:es)?|components?|module|functionality|"
    r"features?|helpers?|handlers?|event\s+(?:handlers|listeners)|setup|loop|utilities|utils|"
    r"app|application)"
)
_SPECIFIC_MARKUP = r"(?:elements|sections|fields|inputs|options|items|cards|buttons|tags|rules|rows)"
_ARTICLE = r"(?:the\s+|your\s+|my\s+|this\s+)?"


@dataclass(frozen=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    # How sure a match is:
    #   strong  - always a placeholder ("for brevity", "TODO: implement", "(same as before)")
    #   phrase  - sure when it opens the comment or says "left out" ("// rest of the code"),
    #             else only where no code follows ("read the rest of the file" is prose)
    #   weak    - sure only with "..." or "left out" words; else only where no code follows,
    #             since "// Other functions" may head the functions it names
    #   same    - like weak, but only "..." makes it sure ("keys are unchanged" is prose)
    #   enclosed - "// ... piece definitions": sure when it also ends with "..."
    strength: str
    markup_only: bool = False  # only in <!-- --> and /* */ comments


_RULES = [
    _Rule(
        "rest-of-code",
        re.compile(
            r"\bfill\s+in\s+the\s+rest\b|^(?:\.\.\.)?\s*(?:and\s+)?(?:the\s+)?rest\b\W*$"
            r"|\(\s*(?:\.\.\.\s*)?rest\s+of\b[^)]*\)"  # not `\s*(?:...)?\s*`: ambiguous, quadratic
        ),
        "strong",
    ),
    _Rule(
        "rest-of-code",
        re.compile(
            rf"\brest\s+of\s+{_ARTICLE}(?:[\w-]+\s+){{0,2}}?{_GENERIC}{_END}"
            rf"|\b(?:remaining|more|other)\s+{_GENERIC}{_END}"
        ),
        "phrase",
    ),
    _Rule(
        "remaining-markup",
        re.compile(rf"\b(?:rest\s+of|remaining)\s+{_ARTICLE}(?:[\w-]+\s+)?{_GENERIC_MARKUP}{_END}"),
        "phrase",
    ),
    _Rule(
        "omitted-for-brevity",
        re.compile(
            r"\bbrevity\b|\bto\s+save\s+space\b|\((?:omitted|removed|snipped|truncated|abbreviated)\)"
            r"|\b(?:omitted|removed|elided|snipped|left\s+out|not\s+shown|skipped)\s+"
            r"for\s+(?:brevity|clarity|simplicity|space|readability)"
        ),
        "strong",
    ),
    _Rule(
        "omitted-for-brevity",
        re.compile(
            r"\b(?:omitted|elided|snipped|left\s+out|not\s+shown|skipped)\s+here\b"
            rf"|\b(?:{_GENERIC}|{_SPECIFIC}|{_GENERIC_MARKUP})\s+(?:\w+\s+)?"
            r"(?:omitted|elided|snipped|not\s+shown)\b"
        ),
        "phrase",
    ),
    _Rule(
        "todo-implement",
        re.compile(
            r"\b(?:todo|fixme|xxx)\b\W*(?:\w+\s+)?(?:implement|fill\s+in|fill\s+this|"
            r"write\s+(?:the|this)|add\s+(?:the\s+|your\s+)?(?:code|logic|implementation)|"
            r"complete\s+(?:this|the)|finish)"
            r"|\b(?:your|add|insert|put|write)\s+(?:[\w-]+\s+){0,2}?(?:code|logic|implementation|"
            r"styles?|markup|content)\s+(?:goes\s+)?here\b"
            r"|\b(?:code|logic|implementation|styles?)\s+goes\s+here\b"
            r"|\bimplement\s+(?:this|me|later)\b|\bimplement\b.*\bhere\b"
            r"|\b(?:needs|has|have|is|are|still|yet)\s+to\s+be\s+implemented\b|^to\s+be\s+implemented\b"
            r"|^(?:todo\W*)?not\s+(?:yet\s+)?implemented(?:\s+yet)?\W*$"
        ),
        "strong",
    ),
    _Rule(
        "same-as-before",
        re.compile(
            r"\((?:unchanged|same\s+as\s+(?:before|above)|no\s+changes?)\)|^(?:\.\.\.)?\s*unchanged\W*$"
        ),
        "strong",
    ),
    _Rule(
        "existing-code",
        re.compile(rf"\b(?:existing|previous|original|prior)\s+(?:{_GENERIC}|{_GENERIC_MARKUP}){_END}"),
        "phrase",
    ),
    _Rule(
        "same-as-before",
        re.compile(
            r"\b(?:same|unchanged|identical)\s+as\s+(?:before|above|previous(?:ly)?|earlier|"
            r"the\s+previous|in\s+the\s+previous|the\s+original|original)\b"
            rf"|\b(?:{_GENERIC}|{_SPECIFIC}|{_GENERIC_MARKUP}|rest|everything(?:\s+else)?|this\s+part)"
            r"\b.{0,30}\b(?:remains?|stays?|is|are|kept)\s+(?:the\s+)?(?:same|unchanged|as[- ]is)\b"
            r"|\b(?:is|are|remains?|stays?)\s+(?:the\s+same|unchanged)\W*$"
        ),
        "same",
    ),
    _Rule(
        "rest-of-code",
        re.compile(
            rf"\b(?:rest\s+of|remaining|other|more|additional)\s+{_ARTICLE}(?:[\w-]+\s+)?{_SPECIFIC}{_END}"
        ),
        "weak",
    ),
    _Rule(
        "remaining-markup",
        re.compile(
            rf"\b(?:rest\s+of|remaining|other|more|additional)\s+{_ARTICLE}(?:[\w-]+\s+)?"
            rf"{_SPECIFIC_MARKUP}{_END}"
        ),
        "weak",
        markup_only=True,
    ),
    _Rule(
        "existing-code",
        re.compile(
            rf"\b(?:existing|previous|original|prior)\s+{_SPECIFIC}{_END}"
            rf"|\bkeep\s+(?:the\s+)?(?:existing|previous|original|other)\s+(?:[\w-]+\s+)?{_SPECIFIC}"
        ),
        "weak",
    ),
    # Unambiguous forms: `(?:\.{3,}\s*)+` split a run of dots every possible way (80 dots
    # and an "x" took hours), and `[a-z\s-]*\W*` split trailing spaces (quadratic).
    _Rule("ellipsis-body", re.compile(r"^(?:\.{3,}(?:\s+\.{3,})*\s*|etc\.?|and\s+so\s+on\.?)$"), "strong"),
    _Rule("ellipsis-comment", re.compile(r"^\.{3}\s*[a-z][a-z\s-]*+\W*$"), "enclosed"),
]
# Words after a phrase that say the code was left out: "// other methods here".
_LEFT_OUT = re.compile(
    r"\b(?:here|goes|omitted|unchanged|same|etc|not\s+shown|as\s+before|remains?|stays?|"
    r"continues?|follows?)\b"
)
# What may stand before a phrase that opens a placeholder: "// ... and the rest of the code".
_LEAD_IN = re.compile(
    r"(?:\.\.\.\s*|[(\[]\s*|(?:and|the|insert|add|keep|include|put|with|plus|all|then)\s+)*"
)


def comment_kind(comment: str, where: str) -> tuple[str, bool] | None:
    """(kind, sure) when a comment is a placeholder, else None; unsure ones need context."""
    text = re.sub(r"^[\s*#/!-]+", "", comment).strip().lower()  # JSDoc stars, extra slashes
    text = text.replace("…", "...")
    if not text:
        return None
    for rule in _RULES:
        if rule.markup_only and where not in ("markup", "block"):
            continue
        match = rule.pattern.search(text)
        if match:
            return rule.kind, _sure(rule, text, match)
    return None


def _sure(rule: _Rule, text: str, match: re.Match[str]) -> bool:
    after = text[match.end() :]
    if rule.strength == "strong":
        return True
    if rule.strength == "enclosed":
        return bool(re.search(r"\.{3}\W*$", after))
    if rule.strength == "same":
        return "..." in text
    if "..." in text or _LEFT_OUT.search(after):
        return True
    return rule.strength == "phrase" and bool(_LEAD_IN.fullmatch(text[: match.start()]))
