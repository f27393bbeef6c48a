"""`imagegen doctor --stack customer-acme` against offline accounts: a healthy one, then one injected
problem at a time (and all at once), each reported by name with its remedy.

Expected facts come from outside our code: the Bedrock user guide ("Request access to models":
Marketplace actions, 15-minute subscription; "Model lifecycle": Legacy models only for accounts
that use them), the CloudFront developer guide (certificates only from us-east-1) and the botocore
service model's enums (AVAILABLE / PENDING / NOT_AVAILABLE …).
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from imagegen_platform.cli import main
from imagegen_platform.settings import StackSettings
from imagegen_service import clock

from tests.doctor.account import OfflineAccount
from tests.doctor.conftest import STACK, by_name, make_healthy

MARKETPLACE_ACTIONS = ("aws-marketplace:Subscribe", "aws-marketplace:Unsubscribe", "aws-marketplace:ViewSubscriptions")


def doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["doctor", "--stack", STACK, "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_healthy_account_is_ready(
    acme_account: OfflineAccount, acme_settings: StackSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the customer's account with both secrets, the certificate in us-east-1, default Bedrock access
    make_healthy(acme_account, acme_settings)
    # WHEN the partner runs doctor
    code, report = doctor(capsys)
    # THEN nothing fails and every check family answered
    assert code == 0, [c for c in report["checks"] if c["status"] == "fail"]
    assert report["ok"] is True and report["account"] == "111122223333"
    statuses = {(c["name"], c["subject"]): c["status"] for c in report["checks"]}
    for model in ("stable-image-core", "sd3-5-large"):
        assert statuses[("model-offered", model)] == "pass"
        assert statuses[("model-lifecycle", model)] == "pass"
        assert statuses[("model-access", model)] == "pass"
        # No confirmed quota code for these models: a warning with the lookup command, never a guess.
        assert statuses[("quota", model)] == "warn"
    assert statuses[("deploy-role", "arn:aws:iam::111122223333:role/imagegen-deploy")] == "pass"
    assert statuses[("certificate", acme_settings.delivery.certificate_arn)] == "pass"
    assert statuses[("secret", "delivery.private_key_secret_arn")] == "pass"
    assert statuses[("secret", "provenance.signing_secret_arn")] == "pass"
    assert statuses[("guardrail", "")] == "pass"  # us-west-2: image filters GA (guardrails-mmfilter page)
    assert [e["bedrock_status"] for e in report["lifecycle"]] == ["ACTIVE", "ACTIVE"]


def test_model_not_offered_in_region(
    acme_account: OfflineAccount, acme_settings: StackSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    make_healthy(acme_account, acme_settings)
    acme_account.set_bedrock({"models": {"stable-image-core": {"not_offered_in": ["us-west-2"]}}})
    code, report = doctor(capsys)
    assert code == 1
    [check] = by_name(report, "model-offered", "stable-image-core")
    assert check["status"] == "fail"
    assert "stability.stable-image-core-v1:1" in check["message"] and "us-west-2" in check["message"]
    assert "models[0].region" in check["remediation"]
    assert by_name(report, "model-offered", "sd3-5-large")[0]["status"] == "pass"


def test_marketplace_agreement_pending_warns(
    acme_account: OfflineAccount, acme_settings: StackSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    make_healthy(acme_account, acme_settings)
    acme_account.set_bedrock({"models": {"sd3-5-large": {"agreement": "PENDING"}}})
    code, report = doctor(capsys)
    # The background subscription "can take up to 15 minutes" and calls may succeed meanwhile: a warning.
    assert code == 0
    [check] = by_name(report, "model-access", "sd3-5-large")
    assert check["status"] == "warn" and "PENDING" in check["message"] and "15 minutes" in check["remediation"]


def test_marketplace_agreement_missing_fails_with_the_subscribe_permissions(
    acme_account: OfflineAccount, acme_settings: StackSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    make_healthy(acme_account, acme_settings)
    acme_account.set_bedrock(
        {"models": {"stable-image-core": {"agreement": "NOT_AVAILABLE", "entitlement": "NOT_AVAILABLE"}}}
    )
    code, report = doctor(capsys)
    assert code == 1
    checks = by_name(report, "model-access", "stable-image-core")
    assert {c["status"] for c in checks} == {"fail"}
    assert all(action in checks[0]["remediation"] for action in MARKETPLACE_ACTIONS)
    assert "payment method" in checks[0]["remediation"]


def test_legacy_model_the_account_may_not_use(
    acme_account: OfflineAccount, acme_settings: StackSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN Bedrock marks SD3.5 Large Legacy (the catalogue still says Active) and this account has not used it
    make_healthy(acme_account, acme_settings)
    acme_account.set_bedrock({"models": {"sd3-5-large": {"lifecycle": "LEGACY", "entitlement": "NOT_AVAILABLE"}}})
    code, report = doctor(capsys)
    assert code == 1
    [check] = by_name(report, "model-lifecycle", "sd3-5-large")
    assert check["status"] == "fail" and "Legacy" in check["message"] and "may not use" in check["message"]
    [entry] = [e for e in report["lifecycle"] if e["model"] == "sd3-5-large"]
    assert entry["catalogue_status"] == "active" and entry["bedrock_status"] == "LEGACY"
    assert entry["account_may_use"] is False


def test_legacy_model_the_account_still_uses_warns_with_the_policy_config_record(
    acme_account: OfflineAccount, acme_settings: StackSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a Legacy model this account invoked three days ago (CloudWatch AWS/Bedrock Invocations)
    make_healthy(acme_account, acme_settings)
    acme_account.set_bedrock({"models": {"sd3-5-large": {"lifecycle": "LEGACY"}}})
    today = clock.today()
    used_on = today - datetime.timedelta(days=3)
    acme_account.record_invocations("stability.sd3-5-large-v1:0", "us-west-2", used_on)
    code, report = doctor(capsys)
    # THEN a warning whose remedy is the policy config's legacyInUse entry, with the dates it needs
    assert code == 0
    [check] = by_name(report, "model-lifecycle", "sd3-5-large")
    record = {"model": "sd3-5-large", "lastInvokedOn": used_on.isoformat(), "checkedOn": today.isoformat()}
    # docs/policies.md, legacy-model-in-production: the evidence it accepts, in the stack's policy config
    evidence = json.dumps({"legacy-model-in-production": {"legacyInUse": [record]}})
    assert check["status"] == "warn" and evidence in check["remediation"]
    assert "policies/config/customer-acme.json" in check["remediation"]
    [entry] = [e for e in report["lifecycle"] if e["model"] == "sd3-5-large"]
    assert entry["account_may_use"] is True and entry["last_invoked_on"] == used_on.isoformat()
    assert report["policy_config"] == {"legacy-model-in-production": {"legacyInUse": [record]}}


def test_legacy_model_without_recent_invocations_asks_for_one(
    acme_account: OfflineAccount, acme_settings: StackSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    make_healthy(acme_account, acme_settings)
    acme_account.set_bedrock({"models": {"sd3-5-large": {"lifecycle": "LEGACY"}}})
    # 20 days ago is outside AWS's 15-day window (reference §0)
    acme_account.record_invocations(
        "stability.sd3-5-large-v1:0", "us-west-2", clock.today() - datetime.timedelta(days=20)
    )
    _, report = doctor(capsys)
    [check] = by_name(report, "model-lifecycle", "sd3-5-large")
    assert check["status"] == "warn" and "no invocation in the last 15 days" in check["message"]
    assert "legacyInUse" not in check["remediation"]


def test_missing_secret(
    acme_account: OfflineAccount, acme_settings: StackSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    make_healthy(acme_account, acme_settings, skip={"provenance.signing_secret_arn"})
    code, report = doctor(capsys)
    assert code == 1
    [check] = by_name(report, "secret", "provenance.signing_secret_arn")
    assert check["status"] == "fail" and "does not exist" in check["message"]
    assert acme_settings.provenance.signing_secret_arn in check["message"]
    assert by_name(report, "secret", "delivery.private_key_secret_arn")[0]["status"] == "pass"


def test_certificate_in_the_wrong_region(
    acme_account: OfflineAccount, acme_settings: StackSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the partner requested the certificate in the stack's region, not in us-east-1
    make_healthy(acme_account, acme_settings, skip={"certificate"})
    assert acme_settings.delivery.domain_name
    in_stack_region = acme_account.import_certificate(acme_settings.delivery.domain_name, "us-west-2")
    code, report = doctor(capsys)
    assert code == 1
    [check] = by_name(report, "certificate")
    assert check["status"] == "fail"
    assert "us-east-1" in check["message"] and in_stack_region in check["message"]


def test_account_mismatch_stops_before_reading_the_wrong_account(
    acme_account: OfflineAccount, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # GIVEN a stack file whose C2PA secret ARN names another account (stacks copied from an example)
    original = Path(__file__).resolve().parents[2] / "stacks" / f"Pulumi.{STACK}.yaml"
    document = yaml.safe_load(original.read_text())
    settings = document["config"]["imagegen:settings"]
    settings["provenance"]["signing_secret_arn"] = "arn:aws:secretsmanager:us-west-2:123456789012:secret:c2pa-AbCdEf"
    changed = tmp_path / "stack.yaml"
    changed.write_text(yaml.safe_dump(document))
    code, report = doctor(capsys, "--config-file", str(changed))
    assert code == 1
    [check] = by_name(report, "account")
    assert check["status"] == "fail" and "provenance.signing_secret_arn names account 123456789012" in check["message"]
    assert not by_name(report, "model-offered")  # nothing else is asked of the wrong account


def test_every_injected_problem_at_once_is_reported_by_name(
    acme_account: OfflineAccount, acme_settings: StackSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    make_healthy(acme_account, acme_settings, skip={"provenance.signing_secret_arn", "certificate"})
    assert acme_settings.delivery.domain_name
    acme_account.import_certificate(acme_settings.delivery.domain_name, "us-west-2")
    acme_account.set_bedrock(
        {
            "models": {
                "stable-image-core": {"not_offered_in": ["us-west-2"]},
                "sd3-5-large": {"agreement": "PENDING", "lifecycle": "LEGACY", "entitlement": "NOT_AVAILABLE"},
            }
        }
    )
    code = main(["doctor", "--stack", STACK])
    text = capsys.readouterr().out
    assert code == 1
    for line in (
        "FAIL  model-offered [stable-image-core]",
        "WARN  model-access [sd3-5-large]: Stable Diffusion 3.5 Large (stability.sd3-5-large-v1:0) in us-west-2: "
        "the Marketplace agreement for Stability AI is PENDING",
        "FAIL  model-lifecycle [sd3-5-large]",
        "FAIL  secret [provenance.signing_secret_arn]",
        f"FAIL  certificate [{acme_settings.delivery.certificate_arn}]",
    ):
        assert line in text, line
    assert "NOT READY" in text


def test_go_live_steps_in_the_order_a_partner_runs_them(
    acme_account: OfflineAccount, acme_settings: StackSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    make_healthy(acme_account, acme_settings)
    _, report = doctor(capsys)
    steps = [step.split(":", 1)[0] for step in report["go_live"]]
    assert steps == [
        "Payment method", "Marketplace", "Certificate", "Secret", "Secret", "Preflight", "Deploy", "DNS",
        "First generation",
    ]  # fmt: skip
    marketplace = report["go_live"][1]
    assert all(action in marketplace for action in MARKETPLACE_ACTIONS)
    assert "stability.stable-image-core-v1:1" in marketplace and "stability.sd3-5-large-v1:0" in marketplace
    assert "images.acme.example" in report["go_live"][7]


def test_bad_stack_is_exit_2_naming_the_stack(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["doctor", "--stack", "no-such-stack"])
    assert code == 2
    assert "Pulumi.no-such-stack.yaml" in capsys.readouterr().err
    # the local stack has no account to check: refused before any AWS call
    assert main(["doctor", "--stack", "local"]) == 2
    err = capsys.readouterr().err
    assert "environment 'local' deploys nothing to AWS" in err and "Traceback" not in err


def _variant(tmp_path: Path, change: Any) -> str:
    """customer-acme's stack file with one change (a partner's edit), as a --config-file."""
    original = Path(__file__).resolve().parents[2] / "stacks" / f"Pulumi.{STACK}.yaml"
    document = yaml.safe_load(original.read_text())
    change(document["config"])
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(document))
    return str(path)


def _request_quota(config: dict[str, Any]) -> None:
    sd3 = config["imagegen:settings"]["models"][1]
    sd3["quota_code"], sd3["quota_request_rpm"] = "L-1A2B3C4D", 50


def test_quota_below_the_planned_capacity_warns_and_an_unknown_code_fails(
    acme_account: OfflineAccount, acme_settings: StackSettings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    make_healthy(acme_account, acme_settings)
    variant = _variant(tmp_path, _request_quota)
    # GIVEN the code exists in the account with 20 RPM while the stack plans (and requests) 50
    acme_account.set_bedrock(
        {"models": {"sd3-5-large": {"quota_code": "L-1A2B3C4D"}}, "quotas": {"us-west-2": {"L-1A2B3C4D": 20}}}
    )
    code, report = doctor(capsys, "--config-file", variant)
    [check] = by_name(report, "quota", "sd3-5-large")
    assert code == 0 and check["status"] == "warn"
    assert "20 RPM" in check["message"] and "50" in check["message"] and "increase" in check["remediation"]
    # GIVEN the value covers the plan
    acme_account.set_bedrock(
        {"models": {"sd3-5-large": {"quota_code": "L-1A2B3C4D"}}, "quotas": {"us-west-2": {"L-1A2B3C4D": 60}}}
    )
    assert by_name(doctor(capsys, "--config-file", variant)[1], "quota", "sd3-5-large")[0]["status"] == "pass"
    # GIVEN Service Quotas has no such code for Bedrock (a typo in the stack file)
    acme_account.set_bedrock({})
    code, report = doctor(capsys, "--config-file", variant)
    [check] = by_name(report, "quota", "sd3-5-large")
    assert code == 1 and check["status"] == "fail" and "L-1A2B3C4D does not exist" in check["message"]


def _code_only(config: dict[str, Any]) -> None:
    config["imagegen:settings"]["models"][1]["quota_code"] = "L-1A2B3C4D"


def _code_and_pace_start(config: dict[str, Any]) -> None:
    _code_only(config)
    config["imagegen:settings"]["models"][1]["pace_start_rpm"] = 1


def test_an_account_serving_less_than_the_plan_is_told_where_to_start_the_pace(
    acme_account: OfflineAccount, acme_settings: StackSettings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    make_healthy(acme_account, acme_settings)
    acme_account.set_bedrock(
        {"models": {"sd3-5-large": {"quota_code": "L-1A2B3C4D"}}, "quotas": {"us-west-2": {"L-1A2B3C4D": 1}}}
    )
    # GIVEN no increase requested and an account quota of 1 RPM, below the catalogue's default the plan uses
    code, report = doctor(capsys, "--config-file", _variant(tmp_path, _code_only))
    [check] = by_name(report, "quota", "sd3-5-large")
    # THEN a warning that names the setting which starts the pace there without asking AWS for anything
    assert code == 0 and check["status"] == "warn"
    assert "models[1].pace_start_rpm: 1" in check["remediation"], check
    # AND once set, the plan matches the account
    code, report = doctor(capsys, "--config-file", _variant(tmp_path, _code_and_pace_start))
    assert by_name(report, "quota", "sd3-5-large")[0]["status"] == "pass"


def _to_ireland(config: dict[str, Any]) -> None:
    config["aws:region"] = "eu-west-1"
    for model in config["imagegen:settings"]["models"]:
        model["region"] = "us-west-2"  # the models stay where they are offered


def test_guardrail_image_filters_not_generally_available_in_the_region(
    acme_account: OfflineAccount, acme_settings: StackSettings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Bedrock user guide, guardrails-mmfilter: image filters are in preview in Europe (Ireland), for
    # Hate, Insults, Sexual and Violence only; the stack's guardrail also filters Misconduct and prompt attacks.
    make_healthy(acme_account, acme_settings)
    code, report = doctor(capsys, "--config-file", _variant(tmp_path, _to_ireland))
    [check] = by_name(report, "guardrail")
    assert code == 1 and check["status"] == "fail"
    assert "eu-west-1" in check["message"] and "MISCONDUCT" in check["message"]
    assert "us-west-2" in check["remediation"]


def test_doctor_calls_only_the_read_actions_it_declares(
    acme_account: OfflineAccount,
    acme_settings: StackSettings,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN an account that sends doctor down every path: certificate elsewhere, Legacy model, a quota code
    from botocore.client import BaseClient

    make_healthy(acme_account, acme_settings, skip={"certificate"})
    assert acme_settings.delivery.domain_name
    acme_account.import_certificate(acme_settings.delivery.domain_name, "us-west-2")
    acme_account.set_bedrock({"models": {"sd3-5-large": {"lifecycle": "LEGACY", "quota_code": "L-1A2B3C4D"}}})
    # WHEN doctor runs, with every botocore call observed at the SDK's own dispatch
    iam_prefix = {"service-quotas": "servicequotas"}
    called: set[str] = set()
    dispatch = BaseClient._make_api_call

    def observe(client: Any, operation: str, params: Any) -> Any:
        service = client.meta.service_model.service_name
        called.add(f"{iam_prefix.get(service, service)}:{operation}")
        return dispatch(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", observe)
    doctor(capsys, "--config-file", _variant(tmp_path, _request_quota))
    # THEN every call is declared (so the deploy role grants it) and each one only reads
    from imagegen_platform.doctor import DOCTOR_ACTIONS

    assert called <= set(DOCTOR_ACTIONS), called - set(DOCTOR_ACTIONS)
    assert {"cloudwatch:GetMetricStatistics", "acm:ListCertificates", "servicequotas:GetServiceQuota"} <= called
    assert all(action.split(":")[1].startswith(("Get", "List", "Describe", "AssumeRole")) for action in called)


def test_certificate_pending_validation_or_for_another_name(
    acme_account: OfflineAccount, acme_settings: StackSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    arn, domain = acme_settings.delivery.certificate_arn, acme_settings.delivery.domain_name
    assert arn and domain
    # GIVEN the certificate was requested in us-east-1 but its DNS validation record is not in place yet
    make_healthy(acme_account, acme_settings, skip={"certificate"})
    acme_account.request_certificate(domain, "us-east-1", as_arn=arn)
    code, report = doctor(capsys)
    [check] = by_name(report, "certificate")
    assert code == 1 and check["status"] == "fail"
    assert "PENDING_VALIDATION, not ISSUED" in check["message"] and "DNS validation CNAME" in check["remediation"]


def test_certificate_that_does_not_cover_the_domain(
    acme_account: OfflineAccount, acme_settings: StackSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = acme_settings.delivery.certificate_arn
    assert arn
    make_healthy(acme_account, acme_settings, skip={"certificate"})
    acme_account.import_certificate("www.acme.example", "us-east-1", as_arn=arn)
    code, report = doctor(capsys)
    [check] = by_name(report, "certificate")
    assert code == 1 and check["status"] == "fail"
    assert "covers www.acme.example, not images.acme.example" in check["message"]


def test_secret_scheduled_for_deletion(
    acme_account: OfflineAccount, acme_settings: StackSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = acme_settings.delivery.private_key_secret_arn
    assert arn
    make_healthy(acme_account, acme_settings)
    acme_account.schedule_deletion(arn)
    code, report = doctor(capsys)
    [check] = by_name(report, "secret", "delivery.private_key_secret_arn")
    assert code == 1 and check["status"] == "fail" and "scheduled for deletion" in check["message"]
