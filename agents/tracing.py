"""Traces with logfire: sent only when LOGFIRE_TOKEN is set, so nothing leaves otherwise.

logfire's default scrubbing redacts values that look like secrets (api_key, token,
password...) from span attributes; API keys are never put into prompts or messages.
"""

from __future__ import annotations

from functools import cache


@cache
def configure_tracing() -> None:
    """Instrument pydantic-ai once per process; export only if a token is present."""
    import logfire

    logfire.configure(
        send_to_logfire="if-token-present",
        service_name="codecrew",
        console=False,  # progress goes to our own terminal display, not span logs
        inspect_arguments=False,
    )
    logfire.instrument_pydantic_ai()
