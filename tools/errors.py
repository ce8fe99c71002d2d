"""Classify why a model call failed, so reports and the history say the same thing.

pydantic-ai already sorts provider errors into categories (rate limit, not found, auth,
...); this maps them, and the few failures of our own (lazy output, no code), onto the
error classes the reports use. Works on exceptions and on bare HTTP status codes
(discovery probes see raw responses).
"""

from __future__ import annotations

import asyncio
from enum import StrEnum

import httpx
from pydantic_ai import exceptions as ai_exc


class ErrorClass(StrEnum):
    rate_limited = "rate_limited"
    not_found = "not_found"
    bad_request = "bad_request"
    no_tool_support = "no_tool_support"
    auth = "auth"
    timeout = "timeout"
    connection_refused = "connection_refused"
    server_error = "server_error"
    invalid_output = "invalid_output"
    lazy_output = "lazy_output"
    no_code = "no_code"
    unsafe_path = "unsafe_path"  # the model proposed a file name outside the output folder
    usage_limit = "usage_limit"
    config = "config"
    # the harness, not the model: the sandbox or browser cannot start, the interpreter is missing
    infrastructure = "infrastructure"
    unknown = "unknown"


_TOOL_HINTS = ("support tool", "tool use", "tools are not supported", "does not support tools")


def _mentions_tools(text: str) -> bool:
    lowered = text.lower()
    return any(hint in lowered for hint in _TOOL_HINTS)


def classify_http(status: int, body: str = "") -> ErrorClass:
    """Error class of an HTTP answer from a model API."""
    if _mentions_tools(body):
        # OpenRouter answers 404 "No endpoints found that support tool use".
        return ErrorClass.no_tool_support
    if status == 429:
        return ErrorClass.rate_limited
    if status in (401, 403):
        return ErrorClass.auth
    if status == 404:
        return ErrorClass.not_found
    if status in (408, 504):
        return ErrorClass.timeout
    if 400 <= status < 500:
        return ErrorClass.bad_request
    if status >= 500:
        return ErrorClass.server_error
    return ErrorClass.unknown


def classify_error(exc: BaseException) -> ErrorClass:
    """Error class of an exception raised by a model run (or by our own checks)."""
    from tools.extract import NoCodeError  # late: tools.extract imports nothing from here

    if isinstance(exc, BaseExceptionGroup):
        # FallbackExceptionGroup: every model failed; the last one says the most.
        return classify_error(exc.exceptions[-1])
    if isinstance(exc, ai_exc.ModelHTTPError):
        return classify_http(exc.status_code, str(exc.body or ""))
    mapping: list[tuple[type[BaseException], ErrorClass]] = [
        (ai_exc.ModelRateLimitError, ErrorClass.rate_limited),
        (ai_exc.ModelQuotaExceededError, ErrorClass.rate_limited),
        (ai_exc.ModelAuthenticationError, ErrorClass.auth),
        (ai_exc.ModelNotFoundError, ErrorClass.not_found),
        (ai_exc.ModelTimeoutError, ErrorClass.timeout),
        (ai_exc.ModelRequestTimeout, ErrorClass.timeout),
        (ai_exc.RunTimedOut, ErrorClass.timeout),
        (ai_exc.ModelConnectionError, ErrorClass.connection_refused),
        (ai_exc.ModelRequestRejectedError, ErrorClass.bad_request),
        (ai_exc.ModelServerError, ErrorClass.server_error),
        (ai_exc.ModelUnavailableError, ErrorClass.server_error),
        (ai_exc.UsageLimitExceeded, ErrorClass.usage_limit),
        (ai_exc.UserError, ErrorClass.config),
        (NoCodeError, ErrorClass.no_code),
        (TimeoutError, ErrorClass.timeout),
        (asyncio.TimeoutError, ErrorClass.timeout),
        (httpx.TimeoutException, ErrorClass.timeout),
        (ConnectionError, ErrorClass.connection_refused),
        (httpx.ConnectError, ErrorClass.connection_refused),
        (ai_exc.UnexpectedModelBehavior, ErrorClass.invalid_output),
    ]
    for exc_type, error_class in mapping:
        if isinstance(exc, exc_type):
            if error_class is ErrorClass.bad_request and _mentions_tools(str(exc)):
                return ErrorClass.no_tool_support
            return error_class
    if isinstance(own := getattr(exc, "error_class", None), str) and own in ErrorClass.__members__:
        return ErrorClass(own)  # our own errors say what they are
    return ErrorClass.unknown


_HINTS: dict[ErrorClass, str] = {
    ErrorClass.rate_limited: "rate limited: wait and retry, or use another model",
    ErrorClass.not_found: "model not found: check its name (python -m agents.models discover)",
    ErrorClass.auth: "the API key was refused: check the key in .env",
    ErrorClass.no_tool_support: "this model does not support tool calls: use it as the generator only",
    ErrorClass.timeout: "the model did not answer in time",
    ErrorClass.connection_refused: "the model server is not reachable",
    ErrorClass.usage_limit: "the run hit its usage limit (CODECREW_REQUEST_LIMIT / CODECREW_COST_LIMIT)",
    ErrorClass.infrastructure: "the harness could not run the check (sandbox, interpreter or browser)",
}


def describe_error(exc: BaseException) -> str:
    """One line for a user: what failed and, where we know, what to do."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(describe_error(e) for e in exc.exceptions)
    error_class = classify_error(exc)
    text = " ".join(str(exc).split())
    if isinstance(exc, ai_exc.ModelAPIError):
        detail = f"{exc.model_name}: {_HINTS.get(error_class, error_class.value)}"
        return f"{detail} ({text[:200]})" if text else detail
    return text[:400] or f"{type(exc).__name__} ({error_class.value})"
