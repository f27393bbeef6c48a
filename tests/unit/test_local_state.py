"""What `imagegen local serve` keeps across restarts (issue 11, finding 8): its keys and its token."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from imagegen_local import keys
from imagegen_local.serve import TOKEN_ENV, resolve_token


def test_the_token_is_made_once_kept_private_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    state = keys.state_dir(tmp_path)
    first = resolve_token(None, state)
    second = resolve_token(None, state)  # a restart reads the same file
    assert first == second and len(first) >= 24
    mode = stat.S_IMODE((state / keys.LOCAL_TOKEN).stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(state.stat().st_mode) == 0o700


def test_an_explicit_or_environment_token_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = keys.state_dir(tmp_path)
    assert resolve_token("given", state) == "given"
    monkeypatch.setenv(TOKEN_ENV, "from-env")
    assert resolve_token(None, state) == "from-env"
    assert not (state / keys.LOCAL_TOKEN).exists()
