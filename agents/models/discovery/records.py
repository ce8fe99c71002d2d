"""What discovery finds and what a probe sees, and the one error listing raises."""

from __future__ import annotations

from dataclasses import dataclass

from tools.errors import ErrorClass


class DiscoveryError(Exception):
    """Listing failed; `str(exc)` is one line for the user."""

    def __init__(self, message: str, error_class: ErrorClass, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.retry_after = retry_after


@dataclass
class DiscoveredModel:
    """A model a provider serves; `model` is a pydantic-ai model string (see the package doc)."""

    model: str
    provider: str  # "ollama" | "openai-compatible" | "openrouter"
    base_url: str  # the OpenAI-compatible base URL (ends in /v1) the model is served at
    context_length: int | None
    input_price: float | None  # USD per million tokens
    output_price: float | None
    free: bool
    advertises_tools: bool | None = None  # what the provider claims; probe() checks

    @property
    def name(self) -> str:
        """The provider's own id for the model (the model string without its prefix)."""
        return self.model.partition(":")[2]


@dataclass
class ProbeResult:
    """What one probe saw. `reachable`: the model answered the chat request."""

    model: str
    reachable: bool
    latency: float | None
    supports_tools: bool | None  # None: not tested (chat failed) or the tool probe failed
    error_class: str | None
    detail: str
    retry_after: float | None = None
    base_url: str = ""
