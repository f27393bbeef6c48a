"""`imagegen customer deploy` runs doctor first and stops on a failure; `--skip-doctor` overrides, logged.

The Pulumi CLI is kept off PATH, so reaching the deploy step shows as the CLI-not-installed message:
the test sees exactly how far the command got, with no fake in between.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from imagegen_platform.cli import main
from imagegen_platform.settings import StackSettings

from tests.doctor.account import OfflineAccount
from tests.doctor.conftest import make_healthy

REACHED_PULUMI = "the pulumi CLI is not installed"


@pytest.fixture
def no_pulumi(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


@pytest.mark.usefixtures("no_pulumi")
def test_deploy_stops_on_a_doctor_failure(
    acme_account: OfflineAccount, acme_settings: StackSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    make_healthy(acme_account, acme_settings, skip={"delivery.private_key_secret_arn"})
    code = main(["customer", "deploy", "acme", "--up"])
    err = capsys.readouterr().err
    assert code == 1
    assert "FAIL  secret [delivery.private_key_secret_arn]" in err
    assert "doctor found 1 failure(s)" in err and "nothing was deployed" in err
    assert REACHED_PULUMI not in err


@pytest.mark.usefixtures("no_pulumi")
def test_deploy_runs_after_a_clean_doctor(
    acme_account: OfflineAccount, acme_settings: StackSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    make_healthy(acme_account, acme_settings)
    code = main(["customer", "deploy", "acme"])
    err = capsys.readouterr().err
    assert "imagegen doctor: ready" in err
    assert REACHED_PULUMI in err and code == 1  # got past the doctor to the Pulumi CLI


@pytest.mark.usefixtures("no_pulumi")
def test_skip_doctor_is_logged_and_deploys_anyway(
    acme_account: OfflineAccount, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN an account with nothing in it (every secret and the certificate missing)
    with caplog.at_level(logging.WARNING, logger="imagegen.deploy"):
        code = main(["customer", "deploy", "acme", "--skip-doctor"])
    err = capsys.readouterr().err
    assert "doctor SKIPPED for customer-acme (--skip-doctor)" in err
    assert any("doctor SKIPPED" in record.getMessage() for record in caplog.records)
    assert "FAIL" not in err and REACHED_PULUMI in err and code == 1
