"""`imagegen customer new|list`: a partner's customer stack, validated, atomic, and deployable cross-account."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from imagegen_platform import customers
from imagegen_platform.cli import main
from imagegen_platform.settings import load_stack

ROOT = Path(__file__).resolve().parents[2]
TODAY = "2026-11-25"
ACCOUNT = "444455556666"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/imagegen-deploy"
SIGNING_SECRET = f"arn:aws:secretsmanager:us-west-2:{ACCOUNT}:secret:imagegen/cloudfront-key-AbCdEf"
C2PA_SECRET = f"arn:aws:secretsmanager:us-west-2:{ACCOUNT}:secret:imagegen/c2pa-AbCdEf"


@pytest.fixture(scope="module", autouse=True)
def _stop_policy_pack_processes() -> Iterator[None]:
    """Previews with policies start the pack's analyzer processes; stop them when this module is done."""
    yield
    from imagegen_policies.offline import close_pool

    close_pool()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the repository's stacks, policy configs and Pulumi.yaml; IMAGEGEN_ROOT points at it."""
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "stacks", root / "stacks")
    (root / "policies" / "config").mkdir(parents=True)
    if (ROOT / "policies" / "config").is_dir():
        shutil.copytree(ROOT / "policies" / "config", root / "policies" / "config", dirs_exist_ok=True)
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    monkeypatch.setenv("IMAGEGEN_ROOT", str(root))
    monkeypatch.setenv("IMAGEGEN_TODAY", TODAY)
    return root


@pytest.fixture(scope="module")
def public_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    path = tmp_path_factory.mktemp("keys") / "cloudfront.pub.pem"
    path.write_bytes(key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


def new_argv(public_key_file: Path, **overrides: Any) -> list[str]:
    """argv for a valid `customer new`; an override of None drops the flag, a list repeats it."""
    flags: dict[str, Any] = {
        "--name": "globex",
        "--account-id": ACCOUNT,
        "--region": "us-west-2",
        "--deploy-role-arn": ROLE,
        "--external-id": "globex-5c1e22",
        "--model": ["stable-image-core", "sd3-5-large"],
        "--budget": "800",
        "--contact": ["billing@globex.example"],
        "--accept": [
            "stable-image-core=cto@globex.example@2026-11-01:2025-07",
            "sd3-5-large=cto@globex.example@2026-11-01",
        ],
        "--accept-eula": ["stable-image-core", "sd3-5-large"],
        "--partner": "cloudroute-partner",
        "--cost-centre": "globex-marketing",
        "--public-key-file": str(public_key_file),
        "--signing-key-secret-arn": SIGNING_SECRET,
        "--c2pa-secret-arn": C2PA_SECRET,
    }
    flags.update({k.replace("_", "-") if k.startswith("--") else k: v for k, v in overrides.items()})
    argv = ["customer", "new"]
    for flag, value in flags.items():
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            argv += [flag, item]
    return argv


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def provider_of(graph: dict[str, Any]) -> dict[str, Any]:
    providers = [r for r in graph["resources"] if r["type"] == "pulumi:providers:aws"]
    assert len(providers) == 1, [p["name"] for p in providers]
    inputs: dict[str, Any] = providers[0]["inputs"]
    return inputs


# --------------------------------------------------------------------------- writing a stack


def test_new_writes_a_validated_stack_and_its_policy_config(
    repo: Path, public_key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the repository's customer policy template (or none yet)
    templates = [repo / "policies" / "config" / name for name in ("customer.json", "customer-acme.json")]
    existing = [t for t in templates if t.exists()]
    expected_policy = json.loads(existing[0].read_text()) if existing else {"all": "mandatory"}
    # WHEN a partner runs customer new with valid flags
    assert main(new_argv(public_key_file)) == 0
    # THEN the stack file loads with the same validation the program uses
    _, settings = load_stack("customer-globex")
    assert settings.environment == "customer"
    assert settings.region == "us-west-2"
    assert settings.customer is not None
    assert (settings.customer.account_id, settings.customer.deploy_role_arn) == (ACCOUNT, ROLE)
    assert settings.customer.external_id == "globex-5c1e22"
    assert (settings.customer.partner, settings.customer.cost_centre) == ("cloudroute-partner", "globex-marketing")
    assert [m.model for m in settings.models] == ["stable-image-core", "sd3-5-large"]
    core, sd35 = settings.models
    assert core.licence.eula_accepted is True and core.licence.terms_version == "2025-07"
    assert core.licence.provider == "Stability AI" and core.licence.accepted_by == "cto@globex.example"
    assert str(core.licence.accepted_at) == "2026-11-01"
    assert sd35.licence.eula_accepted is True and sd35.licence.provider == "Stability AI"
    assert settings.budget.monthly_usd == 800 and settings.budget.emails == ["billing@globex.example"]
    assert (
        settings.delivery.signed_urls and settings.delivery.public_key_pem == public_key_file.read_text().strip() + "\n"
    )  # CloudFront keeps the final newline
    assert settings.delivery.private_key_secret_arn == SIGNING_SECRET
    assert settings.provenance.signing_secret_arn == C2PA_SECRET
    # AND the policy config is the customer template
    assert json.loads((repo / "policies" / "config" / "customer-globex.json").read_text()) == expected_policy
    # AND the file has acme's shape: aws:region + imagegen:settings only
    import yaml

    document = yaml.safe_load((repo / "stacks" / "Pulumi.customer-globex.yaml").read_text())
    assert set(document) == {"config"} and set(document["config"]) == {"aws:region", "imagegen:settings"}


def test_quota_increases_are_written_and_become_quota_requests(repo: Path, public_key_file: Path) -> None:
    from imagegen_platform.preview import run_preview

    # GIVEN quota increases for both models (neither code is confirmed in the catalogue: both are given)
    argv = new_argv(public_key_file, **{"--quota-rpm": ["sd3-5-large=300", "stable-image-core=40"],
                                        "--quota-code": ["stable-image-core=L-ABCDEF12", "sd3-5-large=L-ABCDEF34"]})  # fmt: skip
    assert main(argv) == 0
    _, settings = load_stack("customer-globex")
    requested = {m.model: (m.quota_request_rpm, m.effective_quota_code) for m in settings.models}
    assert requested == {"sd3-5-large": (300, "L-ABCDEF34"), "stable-image-core": (40, "L-ABCDEF12")}
    # THEN the program requests them from Service Quotas in the customer's account
    quotas = [
        r["inputs"]
        for r in run_preview("customer-globex", policies=False)["resources"]
        if r["type"] == "aws:servicequotas/serviceQuota:ServiceQuota"
    ]
    assert sorted((q["quotaCode"], q["value"]) for q in quotas) == [("L-ABCDEF12", 40), ("L-ABCDEF34", 300)]


def test_own_domain_and_certificate_hold_the_stack_to_tls_1_2(repo: Path, public_key_file: Path) -> None:
    from imagegen_platform.preview import run_preview
    from imagegen_policies.offline import evaluate

    # GIVEN a customer with its own CDN domain and ACM certificate
    certificate = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/7d1e2f3a-4b5c-4d6e-8f9a-0b1c2d3e4f5a"
    assert (
        main(
            new_argv(
                public_key_file,
                **{
                    "--domain-name": "images.globex.example",
                    "--certificate-arn": certificate,
                    "--hosted-zone-id": "Z0123456789GLOBEXDNS",
                },
            )
        )
        == 0
    )
    _, settings = load_stack("customer-globex")
    assert (settings.delivery.domain_name, settings.delivery.certificate_arn) == ("images.globex.example", certificate)
    # AND its DNS zone: the stack writes the alias records (issue 13)
    assert settings.delivery.hosted_zone_id == "Z0123456789GLOBEXDNS"
    # THEN its policy config has no default-certificate exception, and the stack still passes
    written = repo / "policies" / "config" / "customer-globex.json"
    assert "cdn-tls-minimum" not in json.loads(written.read_text())
    graph = run_preview("customer-globex", policies=False)
    verdict = evaluate(graph, "customer-globex", config=written)
    assert verdict["mandatory_violations"] == 0, verdict["violations"]
    records = [r["inputs"] for r in graph["resources"] if r["type"] == "aws:route53/record:Record"]
    assert sorted((r["type"], r["zoneId"], r["name"]) for r in records) == [
        ("A", "Z0123456789GLOBEXDNS", "images.globex.example"),
        ("AAAA", "Z0123456789GLOBEXDNS", "images.globex.example"),
    ]


def test_acceptance_date_defaults_to_today(repo: Path, public_key_file: Path) -> None:
    argv = new_argv(
        public_key_file, **{"--accept": ["stable-image-core=cto@globex.example", "sd3-5-large=cto@globex.example"]}
    )
    assert main(argv) == 0
    _, settings = load_stack("customer-globex")
    assert {str(m.licence.accepted_at) for m in settings.models} == {TODAY}


# --------------------------------------------------------------------------- refusing bad input

INVALID_INPUTS = [
    ({"--hosted-zone-id": "Z0123456789GLOBEXDNS"}, "--hosted-zone-id: DNS records need --domain-name"),
    ({"--account-id": "12345"}, "--account-id: '12345' is not a 12-digit AWS account ID"),
    ({"--deploy-role-arn": "arn:aws:iam::111122223333:role/imagegen-deploy"}, "--deploy-role-arn: the role is in account 111122223333, not the customer account 444455556666"),
    ({"--deploy-role-arn": "imagegen-deploy"}, "--deploy-role-arn: 'imagegen-deploy' is not an IAM role ARN"),
    ({"--region": "us-east-1"}, "--region: Stable Image Core (stable-image-core) is not offered in us-east-1; it is in us-west-2"),
    ({"--accept": ["stable-image-core=cto@globex.example@2026-11-01"]}, "--accept: no licence acceptance for sd3-5-large"),
    ({"--accept-eula": None}, "--accept-eula: stable-image-core is a Stability AI model; its EULA must be accepted"),
    ({"--budget": "0"}, "--budget: 0 must be more than 0 USD a month"),
    ({"--contact": ["billing-at-globex"]}, "--contact: 'billing-at-globex' is not an e-mail address"),
    ({"--name": "Globex Corp"}, "--name: 'Globex Corp' must be lower-case letters, digits and dashes"),
    ({"--model": ["stable-image-core", "dall-e-3"]}, "--model: unknown model 'dall-e-3'"),
    ({"--model": ["nova-canvas"], "--region": "us-east-1", "--accept": ["nova-canvas=cto@globex.example"], "--accept-eula": None},
     "--model: Amazon Nova Canvas (nova-canvas) reached end of life on 2026-09-30"),
    ({"--public-key-file": None}, "--public-key-file: signed URLs need the CloudFront public key"),
    ({"--c2pa-secret-arn": "arn:aws:secretsmanager:us-west-2:111122223333:secret:c2pa-AbC"}, "--c2pa-secret-arn: the secret is in account 111122223333, not the customer account 444455556666"),
    ({"--accept": ["stable-image-core=cto@globex.example@2027-01-01", "sd3-5-large=cto@globex.example"]}, "--accept stable-image-core: acceptance date 2027-01-01 is in the future"),
    ({"--external-id": "x"}, "--external-id: 2–1224 characters"),
    ({"--session-name": "has space"}, "--session-name: 2–64 characters"),
    ({"--domain-name": "images.globex.example"}, "--domain-name/--certificate-arn: give both"),
    ({"--domain-name": "images.globex.example", "--certificate-arn": f"arn:aws:acm:eu-west-1:{ACCOUNT}:certificate/7d1e2f3a-4b5c-4d6e-8f9a-0b1c2d3e4f5a"},
     "--certificate-arn: 'arn:aws:acm:eu-west-1"),
    ({"--quota-rpm": ["stable-image-core=50"]}, "--quota-code: stable-image-core needs its quota code"),
    ({"--quota-rpm": ["sd3-5-large=5"], "--quota-code": ["sd3-5-large=L-ABCDEF34"]}, "--quota-rpm sd3-5-large: 5 must be above the default 10 RPM"),
    # A new customer account cannot start on a Legacy model (reference §0): refused with the lifecycle reason
    ({"--model": ["stable-image-core", "titan-image-v1"], "--accept": ["stable-image-core=cto@globex.example", "titan-image-v1=cto@globex.example"]},
     "--model: Amazon Titan Image Generator G1 (titan-image-v1) is Legacy since 2026-06-30"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "problem"), INVALID_INPUTS, ids=[p.split(":")[0] + f"-{i}" for i, (_, p) in enumerate(INVALID_INPUTS)]
)
def test_invalid_input_is_refused_with_the_named_problem_and_nothing_written(
    repo: Path, public_key_file: Path, capsys: pytest.CaptureFixture[str], overrides: dict[str, Any], problem: str
) -> None:
    # GIVEN the repository as it is
    before = snapshot(repo)
    # WHEN customer new gets one bad input
    code = main(new_argv(public_key_file, **overrides))
    # THEN it exits 2 naming the problem, and no file changed
    err = capsys.readouterr().err
    assert code == 2
    assert problem in err
    assert "Traceback" not in err
    assert snapshot(repo) == before


def test_every_problem_is_named_in_one_message(
    repo: Path, public_key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = new_argv(
        public_key_file,
        **{"--account-id": "1", "--budget": "-5", "--contact": ["nope"], "--accept-eula": ["sd3-5-large"]},
    )
    assert main(argv) == 2
    err = capsys.readouterr().err
    for flag in ("--account-id:", "--budget:", "--contact:", "--accept-eula:"):
        assert flag in err
    assert "4 problem(s)" in err


def test_existing_stack_is_kept_without_force_and_replaced_with_it(
    repo: Path, public_key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a customer stack
    assert main(new_argv(public_key_file)) == 0
    path = repo / "stacks" / "Pulumi.customer-globex.yaml"
    first = path.read_bytes()
    # WHEN the partner runs new again with another budget, without --force
    assert main(new_argv(public_key_file, **{"--budget": "1200"})) == 2
    # THEN the stack is untouched and the message says how to replace it
    assert "already exists; pass --force to replace it" in capsys.readouterr().err
    assert path.read_bytes() == first
    # WHEN they add --force
    assert main([*new_argv(public_key_file, **{"--budget": "1200"}), "--force"]) == 0
    # THEN the stack is replaced
    assert "replaced" in capsys.readouterr().out
    assert load_stack("customer-globex")[1].budget.monthly_usd == 1200


def test_existing_acme_cannot_be_overwritten_by_accident(repo: Path, public_key_file: Path) -> None:
    before = snapshot(repo)
    assert main(new_argv(public_key_file, **{"--name": "acme"})) == 2
    assert snapshot(repo) == before


def test_a_failed_second_rename_leaves_neither_file(repo: Path, public_key_file: Path) -> None:
    # GIVEN the policy config path is blocked by a directory, so its rename fails after the stack's
    (repo / "policies" / "config" / "customer-globex.json").mkdir()
    # WHEN customer new runs
    assert main(new_argv(public_key_file)) == 1
    # THEN the stack file was rolled back and no temp file is left
    assert not (repo / "stacks" / "Pulumi.customer-globex.yaml").exists()
    assert not [p for p in repo.rglob("*.tmp")]


def test_long_names_keep_licence_record_ids_valid() -> None:
    record = customers.record_id("a" * 32, "stability-conservative-upscale")
    assert len(record) <= 64 and record.startswith("customer-aaaa")
    assert record != customers.record_id("a" * 31 + "b", "stability-conservative-upscale")


def test_acceptance_flag_parsing() -> None:
    model, acceptance = customers.parse_acceptance("sd3-5-large=legal@acme.example@2026-10-01:2025-07")
    assert (model, acceptance.accepted_by, str(acceptance.accepted_at), acceptance.terms_version) == (
        "sd3-5-large", "legal@acme.example", "2026-10-01", "2025-07",
    )  # fmt: skip
    with pytest.raises(ValueError, match="is not MODEL=EMAIL"):
        customers.parse_acceptance("sd3-5-large")


# --------------------------------------------------------------------------- cross-account deploy


def test_created_stack_previews_clean_and_its_provider_assumes_the_customer_role(
    repo: Path, public_key_file: Path
) -> None:
    from imagegen_platform.preview import run_preview

    # GIVEN a stack written by customer new
    assert main(new_argv(public_key_file)) == 0
    # WHEN it is previewed offline (program under mocks + policy pack with its policy config)
    graph = run_preview("customer-globex")
    # THEN the policy pack finds no mandatory violation
    assert graph["policies"]["mandatory_violations"] == 0, graph["policies"]["violations"]
    # AND none with the policy config customer new wrote (the pack reads its own checkout's config/ by default)
    from imagegen_policies.offline import evaluate

    written = repo / "policies" / "config" / "customer-globex.json"
    verdict = evaluate(graph, "customer-globex", config=written)
    assert verdict["config"] == str(written)
    assert verdict["mandatory_violations"] == 0, verdict["violations"]
    assert verdict["levels"]["licence-eula-accepted"] == "mandatory"
    assert verdict["levels"]["licence-record-per-model"] == "mandatory"
    # AND every AWS call goes through the role in the customer's account, pinned to it
    provider = provider_of(graph)
    assert json.loads(provider["assumeRoles"]) == [
        {"roleArn": ROLE, "externalId": "globex-5c1e22", "sessionName": "imagegen-deploy"}
    ]
    assert json.loads(provider["allowedAccountIds"]) == [ACCOUNT]
    assert provider["region"] == "us-west-2"
    tags = json.loads(provider["defaultTags"])["tags"]
    assert {k: tags[k] for k in ("customer", "partner", "cost-centre", "environment")} == {
        "customer": "globex",
        "partner": "cloudroute-partner",
        "cost-centre": "globex-marketing",
        "environment": "customer",
    }
    # AND every other resource uses that provider
    provider_urns = {r["urn"] for r in graph["resources"] if r["type"] == "pulumi:providers:aws"}
    custom = [r for r in graph["resources"] if r["provider"]]
    assert custom and all(r["provider"].rsplit("::", 1)[0] in provider_urns for r in custom)


def test_acme_provider_assumes_acme_deploy_role(stack_graph: Callable[[str], dict[str, Any]]) -> None:
    provider = provider_of(stack_graph("customer-acme"))
    assert json.loads(provider["assumeRoles"]) == [
        {
            "roleArn": "arn:aws:iam::111122223333:role/imagegen-deploy",
            "externalId": "acme-7f3a91",
            "sessionName": "imagegen-deploy",
        }
    ]
    assert json.loads(provider["allowedAccountIds"]) == ["111122223333"]
    assert json.loads(provider["defaultTags"])["tags"]["partner"] == "cloudroute-partner"


# --------------------------------------------------------------------------- listing


def test_list_shows_every_customer_stack_with_policy_status(
    repo: Path, public_key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(new_argv(public_key_file)) == 0
    capsys.readouterr()
    assert main(["customer", "list", "--json"]) == 0
    rows = {row["stack"]: row for row in json.loads(capsys.readouterr().out)["customers"]}
    assert set(rows) == {"customer-acme", "customer-globex"}
    globex = rows["customer-globex"]
    assert (globex["account_id"], globex["region"], globex["models"]) == (
        ACCOUNT,
        "us-west-2",
        ["stable-image-core", "sd3-5-large"],
    )
    assert globex["policy_status"] == "compliant" and globex["mandatory_violations"] == 0
    assert rows["customer-acme"]["account_id"] == "111122223333"


def test_list_table_and_invalid_stack(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "stacks" / "Pulumi.customer-broken.yaml").write_text(
        "config:\n  aws:region: us-west-2\n  imagegen:settings: {environment: customer}\n"
    )
    assert main(["customer", "list", "--no-policies"]) == 0
    out = capsys.readouterr().out
    assert "customer-acme" in out and "111122223333" in out
    assert "customer-broken" in out and "invalid settings" in out


def test_stacks_dir_and_policy_config_dir_flags(
    tmp_path: Path, public_key_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN two empty folders outside any checkout
    monkeypatch.setenv("IMAGEGEN_TODAY", TODAY)
    stacks, configs = tmp_path / "my-stacks", tmp_path / "my-policies"
    argv = [*new_argv(public_key_file), "--stacks-dir", str(stacks), "--policy-config-dir", str(configs)]
    # WHEN customer new writes there
    assert main(argv) == 0
    # THEN both files are there and nothing else was touched
    assert [p.name for p in stacks.iterdir()] == ["Pulumi.customer-globex.yaml"]
    assert [p.name for p in configs.iterdir()] == ["customer-globex.json"]
    capsys.readouterr()
    assert main(["customer", "list", "--json", "--no-policies", "--stacks-dir", str(stacks)]) == 0
    assert [row["stack"] for row in json.loads(capsys.readouterr().out)["customers"]] == ["customer-globex"]


def test_the_installed_command_exits_2_and_writes_nothing(repo: Path, public_key_file: Path) -> None:
    import os
    import subprocess
    import sys

    # GIVEN the console script as a partner runs it
    imagegen = Path(sys.executable).parent / "imagegen"
    before = snapshot(repo)
    env = {**os.environ, "IMAGEGEN_ROOT": str(repo), "IMAGEGEN_TODAY": TODAY}
    # WHEN one input is wrong THEN the process exits 2 with the problem and no traceback
    bad = new_argv(public_key_file, **{"--account-id": "12345"})
    result = subprocess.run([str(imagegen), *bad], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 2, result.stderr
    assert "--account-id: '12345' is not a 12-digit AWS account ID" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(repo) == before
