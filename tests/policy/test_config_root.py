"""The offline evaluation reads the policy config of the checkout it is pointed at (IMAGEGEN_ROOT)."""

from pathlib import Path

import pytest
from imagegen_policies import offline


def test_config_path_follows_imagegen_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN another checkout root with its own policy config for a customer stack
    (tmp_path / "policies" / "config").mkdir(parents=True)
    own = tmp_path / "policies" / "config" / "customer-globex.json"
    own.write_text('{"all": "mandatory"}')
    monkeypatch.setenv("IMAGEGEN_ROOT", str(tmp_path))
    # WHEN the evaluation looks up the stack's config
    # THEN it is that root's file, and a stack without one falls back to that root's environment file
    assert offline.config_path("customer-globex", "customer") == own
    assert offline.config_path("customer-initech", "customer") == tmp_path / "policies" / "config" / "customer.json"


def test_config_path_defaults_to_the_pack_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMAGEGEN_ROOT", raising=False)
    assert offline.config_path("prod") == offline.CONFIG_DIR / "prod.json"
