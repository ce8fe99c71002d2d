"""Unit tests never reach a real model: pydantic-ai raises if one is asked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pydantic_ai.models
import pytest

if TYPE_CHECKING:
    from tools.browser import BrowserSession

pydantic_ai.models.ALLOW_MODEL_REQUESTS = False


@pytest.fixture(autouse=True)
def private_history(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test records model calls into its own history, never the user's."""
    path = tmp_path_factory.mktemp("history") / "history.sqlite"
    monkeypatch.setenv("CODECREW_HISTORY", str(path))
    return path


@pytest.fixture(autouse=True)
def private_eval_database(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test's durable eval runs keep their state in its own SQLite file."""
    url = f"sqlite:///{tmp_path_factory.mktemp('evals-db') / 'evals.sqlite'}"
    monkeypatch.setenv("CODECREW_DATABASE_URL", url)
    return url


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserSession]:
    """One chromium (tools.browser.BrowserSession) for a test module's pages; skips without one."""
    from tools.browser import BrowserSession, browser_available

    if browser_available() is None:
        pytest.skip("chromium not found (apt-get install chromium, or set CODECREW_CHROMIUM)")
    with BrowserSession() as session:
        yield session
